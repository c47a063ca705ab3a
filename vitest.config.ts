import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

const workspaceAliases = [
  {
    find: /^@detour\/core\/testing$/,
    replacement: src('./packages/core/src/testing/index.ts'),
  },
  { find: /^@detour\/core$/, replacement: src('./packages/core/src/index.ts') },
  { find: /^@detour\/grpc$/, replacement: src('./packages/grpc/src/index.ts') },
  { find: /^@detour\/http$/, replacement: src('./packages/http/src/index.ts') },
  { find: /^@detour\/opossum$/, replacement: src('./packages/opossum/src/index.ts') },
  { find: /^@detour\/discovery$/, replacement: src('./packages/discovery/src/index.ts') },
];

// Settings every project shares. Not set at the root with `extends: true`: Vite's mergeConfig
// concatenates arrays, so each project's `include` would be added to the root's, not replace it.
const shared = { testTimeout: 20_000, hookTimeout: 20_000 };

// @detour/grpc supports `@grpc/grpc-js` ^1.10.0, and its tests run against both ends of that
// range: the newest (packages/grpc's `@grpc/grpc-js` devDependency) in `default`, the oldest
// (the `@grpc/grpc-js-oldest` devDependency, the latest 1.10.x) in `grpc-js-oldest`. There the
// alias points the tests' and packages/grpc/src's `@grpc/grpc-js` imports at the oldest copy;
// Vite does not resolve for node_modules, so the project's setup file does the same for their
// `require`s. packages/grpc/src/grpc-js-version.test.ts checks which copy each project loads.
const oldestGrpcJs = createRequire(src('./packages/grpc/package.json')).resolve(
  '@grpc/grpc-js-oldest',
);

export default defineConfig({
  test: {
    allowOnly: false,
    reporters: ['default'],
    projects: [
      {
        resolve: { alias: workspaceAliases },
        test: {
          ...shared,
          name: 'default',
          include: ['packages/*/src/**/*.test.ts'],
          env: { DETOUR_GRPC_JS_UNDER_TEST: 'newest' },
        },
      },
      {
        resolve: { alias: workspaceAliases },
        test: {
          ...shared,
          name: 'system',
          // Cross-package tests on replica processes, nginx and Chromium, which judge behaviour
          // in real time (failover within a deadline, enough calls in a window, no replica left
          // after Ctrl-C). Run side by side on two cores they starved each other: a fresh-clone
          // run failed four of them. One file at a time, after the unit tests.
          include: ['test/**/*.test.ts'],
          env: { DETOUR_GRPC_JS_UNDER_TEST: 'newest' },
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        resolve: {
          alias: [{ find: /^@grpc\/grpc-js$/, replacement: oldestGrpcJs }, ...workspaceAliases],
        },
        test: {
          ...shared,
          name: 'grpc-js-oldest',
          include: ['packages/grpc/src/**/*.test.ts'],
          env: { DETOUR_GRPC_JS_UNDER_TEST: 'oldest' },
          // Gives node_modules (nice-grpc) the same copy; lists the tests that check grpc-js 1.14
          // behaviour the oldest version lacks.
          setupFiles: ['packages/grpc/src/test-support/grpc-js-oldest.setup.ts'],
          // After `default`, not beside it: its timing-sensitive tests (grpc-chaos, P2C shares)
          // keep the CPU they had before this project existed.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});

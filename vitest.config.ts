import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      {
        find: /^@detour\/core\/testing$/,
        replacement: src('./packages/core/src/testing/index.ts'),
      },
      { find: /^@detour\/core$/, replacement: src('./packages/core/src/index.ts') },
      { find: /^@detour\/grpc$/, replacement: src('./packages/grpc/src/index.ts') },
      { find: /^@detour\/http$/, replacement: src('./packages/http/src/index.ts') },
      { find: /^@detour\/opossum$/, replacement: src('./packages/opossum/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    allowOnly: false,
    reporters: ['default'],
  },
});

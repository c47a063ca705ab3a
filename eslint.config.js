// One linter (ESLint, type-aware) and one formatter (Prettier, run separately by `pnpm lint`).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const timeAndRandom = [
  { name: 'setTimeout', message: 'Core takes time from an injected Clock (clock.ts).' },
  { name: 'setInterval', message: 'Core takes time from an injected Clock (clock.ts).' },
  { name: 'clearTimeout', message: 'Core takes time from an injected Clock (clock.ts).' },
  { name: 'clearInterval', message: 'Core takes time from an injected Clock (clock.ts).' },
  { name: 'setImmediate', message: 'Core takes time from an injected Clock (clock.ts).' },
  { name: 'performance', message: 'Core takes time from an injected Clock (clock.ts).' },
  { name: 'process', message: 'Core runs outside Node too.' },
  { name: 'Buffer', message: 'Core runs outside Node too.' },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='describe'][callee.property.name='only']",
          message: 'No .only in committed tests.',
        },
        {
          selector: "CallExpression[callee.object.name='it'][callee.property.name='only']",
          message: 'No .only in committed tests.',
        },
        {
          selector: "CallExpression[callee.object.name='test'][callee.property.name='only']",
          message: 'No .only in committed tests.',
        },
        {
          selector: "CallExpression[callee.object.name='it'][callee.property.name='skip']",
          message: 'No skipped tests.',
        },
        {
          selector: "CallExpression[callee.object.name='describe'][callee.property.name='skip']",
          message: 'No skipped tests.',
        },
      ],
    },
  },
  {
    // @detour/core: no transport, no Node built-ins, no wall clock, no global randomness.
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts', 'packages/core/src/test-support/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Core imports no Node built-in.' },
            {
              group: [
                '@grpc/*',
                'nice-grpc*',
                'undici',
                'undici/*',
                '@detour/grpc',
                '@detour/http',
              ],
              message: 'Core imports no transport.',
            },
            {
              group: [
                'fs',
                'path',
                'os',
                'http',
                'https',
                'net',
                'dns',
                'events',
                'timers',
                'crypto',
                'util',
                'child_process',
              ],
              message: 'Core imports no Node built-in.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', ...timeAndRandom],
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message: 'Core takes time from an injected Clock (clock.ts).',
        },
        {
          object: 'Math',
          property: 'random',
          message: 'Core takes randomness from an injected Random (random.ts).',
        },
        {
          object: 'globalThis',
          property: 'setTimeout',
          message: 'Core takes time from an injected Clock (clock.ts).',
        },
      ],
    },
  },
  {
    // The two files that implement the injected defaults may touch the globals they wrap.
    files: ['packages/core/src/clock.ts', 'packages/core/src/random.ts'],
    rules: { 'no-restricted-globals': 'off', 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs', 'scripts/**', 'test/**', 'bench/**', 'examples/**'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['**/*.test.ts', '**/test-support/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);

// Builds one package twice with tsc: ESM into dist/esm and CommonJS into dist/cjs, then marks
// dist/cjs as CommonJS so Node loads it with require(). Run from the package folder.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const cwd = process.cwd();
rmSync(join(cwd, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', 'dist/esm'], {
  stdio: 'inherit',
});
execFileSync(
  process.execPath,
  [
    tsc,
    '-p',
    'tsconfig.build.json',
    '--outDir',
    'dist/cjs',
    '--module',
    'CommonJS',
    '--moduleResolution',
    'Node10',
  ],
  { stdio: 'inherit' },
);
mkdirSync(join(cwd, 'dist/cjs'), { recursive: true });
writeFileSync(join(cwd, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');

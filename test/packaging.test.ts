/**
 * The built packages, packed as they would be published, install and load through both `import`
 * and `require`, expose their entry points and run nothing on import. Needs `pnpm build` first
 * (`pnpm test` does it). Third-party dependencies and peers (grpc-js, opossum,
 * @opentelemetry/api) come from the npm cache or the npm registry, as for a user.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const packages = ['core', 'grpc', 'http', 'opossum'];
let dir: string;

/** Runs pnpm the way this test run was started (npm_execpath), else through npx. */
function pnpm(args: string[], cwd: string): string {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(execPath)) {
    return execFileSync(process.execPath, [execPath, ...args], { cwd, encoding: 'utf8' });
  }
  return execFileSync('npx', ['-y', 'pnpm@10', ...args], { cwd, encoding: 'utf8' });
}

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8' }).trim();
}

beforeAll(() => {
  for (const p of packages) {
    if (!existsSync(join(root, 'packages', p, 'dist', 'esm', 'index.js'))) {
      throw new Error(`packages/${p} is not built: run pnpm build (pnpm test does)`);
    }
  }
  dir = mkdtempSync(join(tmpdir(), 'detour-pack-'));
  for (const p of packages) pnpm(['pack', '--pack-destination', dir], join(root, 'packages', p));
  const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  expect(tarballs).toHaveLength(packages.length);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  execFileSync(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs.map((t) => `./${t}`)],
    {
      cwd: dir,
      stdio: 'pipe',
    },
  );
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const entries: [string, string][] = [
  ['@detour/core', 'createPool'],
  ['@detour/core/testing', 'ManualClock'],
  ['@detour/grpc', ''],
  ['@detour/http', ''],
  ['@detour/opossum', 'opossumBreakers'],
];

describe('packed packages', () => {
  for (const [name, symbol] of entries) {
    it(`${name} loads through import and require`, () => {
      const probe = symbol ? `typeof m[${JSON.stringify(symbol)}]` : `typeof m`;
      const esm = node([
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(name)}); console.log(${probe});`,
      ]);
      const cjs = node([
        '-e',
        `const m = require(${JSON.stringify(name)}); console.log(${probe});`,
      ]);
      expect(esm).toBe(symbol ? 'function' : 'object');
      expect(cjs).toBe(symbol ? 'function' : 'object');
    });
  }

  it('runs nothing on import: no timer, handle or global is left behind', () => {
    // Third-party packages load first: what they do on import (grpc-js opens a handle on stderr)
    // is theirs. Only what detour's packages add is checked.
    const script = `
      for (const n of ['@grpc/grpc-js', 'opossum', '@opentelemetry/api']) require(n);
      const before = new Set(Object.keys(globalThis));
      const resources = process.getActiveResourcesInfo().length;
      for (const n of ['@detour/core', '@detour/core/testing', '@detour/grpc', '@detour/http', '@detour/opossum']) require(n);
      const added = Object.keys(globalThis).filter((k) => !before.has(k));
      const handles = process.getActiveResourcesInfo().slice(resources);
      console.log(JSON.stringify({ added, handles }));`;
    expect(JSON.parse(node(['-e', script]))).toEqual({ added: [], handles: [] });
  });

  it('ships declarations and no tests', () => {
    const files = readdirSync(join(dir, 'node_modules', '@detour', 'core', 'dist', 'esm'), {
      recursive: true,
    }).map(String);
    expect(files).toContain('index.d.ts');
    expect(files.filter((f) => f.includes('.test.'))).toEqual([]);
  });
});

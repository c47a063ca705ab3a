/** The examples quoted in the READMEs run and do what the READMEs say. */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

function run(file: string): string {
  return execFileSync(process.execPath, [tsx, file], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('examples', () => {
  it('core-basics loses no call while one replica fails, and ejects that replica', () => {
    const out = run('examples/core-basics/main.ts');
    expect(out).toMatch(/^ejected 10\.0\.0\.3:50051 by consecutive-failures$/m);
    expect(out).toMatch(/^60 calls, 0 failed$/m);
    expect(out).toMatch(/^10\.0\.0\.1:50051 healthy/m);
    expect(out).toMatch(/^10\.0\.0\.2:50051 healthy/m);
    expect(out).toMatch(/^10\.0\.0\.3:50051 ejected attempts=5 failures=5$/m);
  });
});

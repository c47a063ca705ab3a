/** The examples quoted in the READMEs run and do what the READMEs say. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

/** Runs an example with tsx from the repo root; throws if it exits non-zero or times out. */
function run(file: string, timeoutMs = 30_000): string {
  try {
    return execFileSync(process.execPath, [tsx, file], {
      cwd: root,
      encoding: 'utf8',
      timeout: timeoutMs,
    });
  } catch (error) {
    // What the example printed says why it failed.
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} failed: ${String(error)}\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

/** Checks the lines of a grpc-failover example: no call failed, the killed replica was ejected. */
function expectFailover(out: string): void {
  expect(out).toMatch(/^60 calls, 0 failed$/m);
  const port = /^killed r2 at 127\.0\.0\.1:(\d+)$/m.exec(out)?.[1];
  expect(port, out).toBeDefined();
  expect(out).toMatch(new RegExp(`^ejected 127\\.0\\.0\\.1:${port} by `, 'm'));
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

  // Three real replica processes; a run takes about 3 s.
  it('grpc-failover/grpc-js loses no SayHello while a replica is SIGKILLed, and ejects it', () => {
    expectFailover(run('examples/grpc-failover/grpc-js.ts', 15_000));
  }, 20_000);

  it('grpc-failover/nice-grpc does the same, and a detourIdempotent SayHelloMany succeeds', () => {
    const out = run('examples/grpc-failover/nice-grpc.ts', 15_000);
    expectFailover(out);
    expect(out).toMatch(/^Hello ada, grace from r[13]$/m);
  }, 20_000);

  // Three real replica processes; a run takes about 7 s (the restarted primary is restored ~2 s
  // after it answers again).
  it('the README quotes sayhello-failover as it is', () => {
    const code = readFileSync(resolve(root, 'examples/sayhello-failover.ts'), 'utf8');
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const body = code.slice(code.indexOf(' */\n') + 4).trimStart();
    expect(readme).toContain(`\`\`\`ts\n${body}\`\`\``);
  });

  it('sayhello-failover fails over from the primary to the alternates and back', () => {
    // Up to 1,000 calls (20 s and more) for the primary to be restored: a trial call that fails
    // on a loaded machine ejects it again for longer.
    const out = run('examples/sayhello-failover.ts', 45_000);
    expect(out).toMatch(/^primary up: 20 calls, answered by r1×20$/m);
    expect(out).toMatch(/^primary down: \d+ calls, answered by r[23]×\d+( r[23]×\d+)?$/m);
    expect(out).toMatch(/^primary restarted: \d+ calls, answered by /m);
    expect(out).toMatch(/^primary back: 20 calls, answered by r1×20$/m);
    expect(out).toMatch(/^0 failed$/m);
  }, 50_000);
});

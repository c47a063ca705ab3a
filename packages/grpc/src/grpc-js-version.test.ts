/**
 * Which `@grpc/grpc-js` these tests run against. The root vitest.config.ts runs packages/grpc's
 * tests twice: in `default` against the newest supported version (the `@grpc/grpc-js`
 * devDependency) and in `grpc-js-oldest` against the oldest (the `@grpc/grpc-js-oldest` alias,
 * substituted for every `@grpc/grpc-js` import). DETOUR_GRPC_JS_UNDER_TEST says which one this
 * run expects. This file fails if the substitution stops applying (to the tests, to the
 * package's sources, or to nice-grpc, which loads @grpc/grpc-js itself), or if the oldest copy
 * falls out of step with the peer range.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';

interface PackageJson {
  name?: string;
  version?: string;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readPackageJson = (path: string | URL): PackageJson =>
  JSON.parse(readFileSync(path, 'utf8')) as PackageJson;

const manifest = readPackageJson(new URL('../package.json', import.meta.url));
const underTest = process.env['DETOUR_GRPC_JS_UNDER_TEST'];
const spec =
  underTest === 'oldest'
    ? manifest.devDependencies?.['@grpc/grpc-js-oldest']?.replace(/^npm:@grpc\/grpc-js@/, '')
    : manifest.devDependencies?.['@grpc/grpc-js'];

/** Every copy of @grpc/grpc-js this worker has loaded, by package folder. */
function loadedCopies(): { root: string; version: string | undefined; imported: boolean }[] {
  const require = createRequire(import.meta.url);
  const copies = new Map<
    string,
    { root: string; version: string | undefined; imported: boolean }
  >();
  for (const module of Object.values(require.cache)) {
    if (module === undefined) continue;
    const match = /^(.*[\\/]@grpc[\\/]grpc-js[\\/])/.exec(module.filename);
    if (match?.[1] === undefined) continue;
    const root = match[1];
    const copy = copies.get(root) ?? {
      root,
      version: readPackageJson(`${root}package.json`).version,
      imported: false,
    };
    // The module whose exports this file's `import * as grpc` got.
    if ((module.exports as { Channel?: unknown }).Channel === grpc.Channel) copy.imported = true;
    copies.set(root, copy);
  }
  return [...copies.values()];
}

describe(`@grpc/grpc-js under test (${underTest ?? 'unset'}: ${spec ?? '?'})`, () => {
  it('is the pinned version, for the tests and for every source of the package', async () => {
    expect(underTest, 'DETOUR_GRPC_JS_UNDER_TEST is set by vitest.config.ts').toMatch(
      /^(newest|oldest)$/,
    );
    expect(spec, 'the devDependency is pinned to one version').toMatch(/^\d+\.\d+\.\d+$/);
    // Load every module of the package, so each of its `@grpc/grpc-js` imports is resolved.
    await import('./index.js');
    // And the copy nice-grpc loads (Node resolves it, not Vite).
    const packageRequire = createRequire(new URL('../package.json', import.meta.url));
    const niceGrpcJs = createRequire(packageRequire.resolve('nice-grpc'))('@grpc/grpc-js') as {
      Channel?: unknown;
    };
    expect(niceGrpcJs.Channel === grpc.Channel, 'nice-grpc loads the same copy').toBe(true);
    const copies = loadedCopies();
    expect(copies.find((c) => c.imported)?.version, 'the copy the tests import').toBe(spec);
    expect(
      copies.map((c) => c.version),
      'the copies loaded here: the sources and nice-grpc load no other',
    ).toEqual([spec]);
  });

  it('is the oldest or the newest end of the supported peer range', () => {
    const range = /^\^(\d+)\.(\d+)\.\d+$/.exec(manifest.peerDependencies?.['@grpc/grpc-js'] ?? '');
    expect(range, 'the peer range has the form ^major.minor.patch').not.toBeNull();
    const [, major, minor] = range!.map(Number);
    const [gotMajor, gotMinor] = (spec ?? '').split('.').map(Number);
    expect(gotMajor).toBe(major);
    if (underTest === 'oldest') expect(gotMinor, 'the lowest minor of the range').toBe(minor);
    else expect(gotMinor).toBeGreaterThanOrEqual(minor!);
  });
});

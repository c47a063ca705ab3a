/**
 * The version of the `@grpc/grpc-js` copy these tests loaded (1.14.x in the default project,
 * 1.10.x in `grpc-js-oldest`), so a test can state what each version does where they differ.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';

export function loadedGrpcJsVersion(): [major: number, minor: number] {
  const require = createRequire(import.meta.url);
  for (const module of Object.values(require.cache)) {
    if (!module || (module.exports as { Channel?: unknown }).Channel !== grpc.Channel) continue;
    const root = /^(.*[\\/]@grpc[\\/]grpc-js[\\/])/.exec(module.filename)?.[1];
    if (!root) continue;
    const version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string })
      .version;
    const [major, minor] = version.split('.').map(Number);
    return [major!, minor!];
  }
  throw new Error('@grpc/grpc-js is not loaded through require');
}

/** Whether the loaded grpc-js is older than 1.`minor`. */
export function grpcJsBefore(minor: number): boolean {
  const [major, loaded] = loadedGrpcJsVersion();
  return major === 1 && loaded < minor;
}

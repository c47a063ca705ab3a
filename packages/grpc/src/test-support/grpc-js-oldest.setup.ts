/**
 * Setup file of the `grpc-js-oldest` Vitest project (root vitest.config.ts), which runs
 * packages/grpc's tests against the oldest supported @grpc/grpc-js. It does two things.
 *
 * 1. One copy for the whole worker. The project's `resolve.alias` reaches only the files Vite
 *    transforms (the tests and packages/grpc/src). Packages in node_modules are loaded by Node:
 *    nice-grpc would `require('@grpc/grpc-js')` its own copy (nice-grpc 2.1.18 depends on
 *    ^1.14.0), and two copies do not mix (nice-grpc wraps an error in `ClientError` only when
 *    its metadata is an `instanceof` its own copy's `Metadata`). So every `require` of
 *    '@grpc/grpc-js' gets the oldest copy too. Users on grpc-js below 1.14 use an older
 *    nice-grpc (2.1.9 to 2.1.11 depend on ^1.10.8), which then shares their copy.
 *
 * Where the oldest version behaves differently (the status grpc-js reports for a given failure),
 * the tests say what each version does, through `test-support/grpc-js-version.ts`.
 */
import Module, { createRequire } from 'node:module';

const oldestGrpcJs = createRequire(new URL('../../package.json', import.meta.url)).resolve(
  '@grpc/grpc-js-oldest',
);
type ResolveFilename = (this: unknown, request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: ResolveFilename };
const resolveFilename = loader._resolveFilename;
loader._resolveFilename = function (request, ...rest) {
  return request === '@grpc/grpc-js' ? oldestGrpcJs : resolveFilename.call(this, request, ...rest);
};

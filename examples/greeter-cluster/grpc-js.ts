/**
 * The copy of @grpc/grpc-js this example depends on (1.14.7), for callers that have no dependency
 * of their own on it, such as the tests under `test/`. With pnpm, packages that pin the same
 * version share this copy.
 */
export * as grpc from '@grpc/grpc-js';

import { adapterContract } from '@detour/core/testing';
import { describe, it } from 'vitest';
import { grpcJsContractHarness, niceGrpcContractHarness } from './test-support/contract-harness.js';

describe('adapter contract: a generated grpc-js client on createGrpcFailover().clientOptions()', () => {
  for (const c of adapterContract(grpcJsContractHarness())) it(c.name, c.run);
});

describe('adapter contract: a nice-grpc client through detourNiceGrpc()', () => {
  for (const c of adapterContract(niceGrpcContractHarness())) it(c.name, c.run);
});

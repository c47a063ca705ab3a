import { adapterContract } from '@detour/core/testing';
import { describe, it } from 'vitest';
import { fetchContractHarness } from './test-support/contract-harness.js';

describe('adapter contract: createFetch() over real HTTP servers', () => {
  for (const c of adapterContract(fetchContractHarness())) it(c.name, c.run);
});

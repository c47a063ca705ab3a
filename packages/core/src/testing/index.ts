/**
 * `@detour/core/testing`: tools for testing code built on detour without real time or real
 * randomness.
 */
export { ManualClock, flushMicrotasks } from './manual-clock.js';
export { seededRandom } from './seeded-random.js';
export { manualDetector } from './manual-detector.js';
export type { ManualDetector } from './manual-detector.js';
export { createTestDetectorHost } from './detector-host.js';
export type { TestDetectorHost, TestDetectorHostOptions, Verdict } from './detector-host.js';
export { adapterContract } from './adapter-contract.js';
export type {
  AdapterHarness,
  ContractCallOptions,
  ContractCase,
  ContractClient,
  ContractClientOptions,
  ContractEndpoint,
  ContractEndpointMode,
  ContractErrorDescription,
  ContractErrorKind,
  ContractReply,
  ContractTiming,
} from './adapter-contract.js';

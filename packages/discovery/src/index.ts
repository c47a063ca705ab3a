/**
 * `@detour/discovery`: endpoint sources from real registries for detour pools, gRPC channels and
 * `createFetch`: DNS (A/AAAA and SRV), etcd (gRPC-Go's naming layout, with a lease-based
 * registration helper) and a watched JSON file. Each is an `EndpointSource` from `@detour/core`:
 * pass it as the `source` option.
 */

// What every source shares
export { DiscoverySource, PollingSource, DiscoveryError, defaultSourceBackoff } from './source.js';
export type {
  SourceOptions,
  PollingOptions,
  SourceHealth,
  SourceState,
  SkippedRecord,
  Resolution,
  DiscoveryEvents,
  DiscoveryEventName,
} from './source.js';
export { discoveryAttributes } from './metrics.js';
export type { SourceMetricsOptions } from './metrics.js';

// A watched JSON file
export {
  fileSource,
  FileSource,
  fileSourceDefaults,
  parseEndpointFile,
} from './file/file-source.js';
export type { FileSourceOptions } from './file/file-source.js';

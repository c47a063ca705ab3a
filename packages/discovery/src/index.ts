/**
 * `@detour/discovery`: endpoint sources from real registries for detour pools, gRPC channels and
 * `createFetch`: DNS (A/AAAA and SRV), etcd (gRPC-Go's naming layout, with a lease-based
 * registration helper) and a watched JSON file. Each is an `EndpointSource` from `@detour/core`:
 * pass it as the `source` option.
 */

// What every source shares
export {
  DiscoverySource,
  PollingSource,
  DiscoveryError,
  defaultSourceBackoff,
  resolveSourceOptions,
  resolvePollingOptions,
  sourceOptionKeys,
  pollingOptionKeys,
} from './source.js';
export type {
  SourceOptions,
  PollingOptions,
  SourceHealth,
  SourceState,
  SkippedRecord,
  Resolution,
  DiscoveryEvents,
  DiscoveryEventName,
  ResolvedSourceOptions,
  ResolvedPolling,
  PollingDefaults,
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

// DNS: A/AAAA and SRV
export { DnsSource, dnsSource } from './dns/dns-source.js';
export { dnsSourceDefaults } from './dns/dns-options.js';
export type {
  DnsAddressTarget,
  DnsFamily,
  DnsHostnameOptions,
  DnsQuery,
  DnsSourceCommonOptions,
  DnsSourceOptions,
  DnsSrvOptions,
  DnsToAddress,
} from './dns/dns-options.js';
export type { DnsServer } from './dns/dns-servers.js';
export { DnsQueryError } from './dns/dns-client.js';
export type { DnsServerFailure } from './dns/dns-client.js';
export { srvZeroWeight } from './dns/srv-endpoints.js';

// etcd: gRPC-Go's naming layout, and lease-based registration
export { etcdSource, EtcdSource } from './etcd/etcd-source.js';
export type { EtcdSourceOptions } from './etcd/etcd-source.js';
export { registerEndpoint, defaultRegistrationBackoff } from './etcd/register-endpoint.js';
export type {
  RegisterEndpointOptions,
  Registration,
  RegistrationEvents,
  RegistrationEventName,
  RegistrationState,
} from './etcd/register-endpoint.js';
export type { EtcdConnectionOptions, EtcdClientSettings } from './etcd/etcd-client.js';
export { etcdMetadataKeys } from './etcd/etcd-value.js';

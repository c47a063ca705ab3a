/** Every client the benchmark drives, by name, and the versions of what they are made of. */
import { detourClient } from '../clients/detour.js';
import { grpcJsBuiltinBest, grpcJsRoundRobin, niceGrpcRetry } from '../clients/grpc-peers.js';
import { fetchNaive, undiciBalancedRetry } from '../clients/http-peers.js';
import { nginxProxy, nginxVersion } from '../clients/nginx.js';
import type { BenchClientFactory, BenchClientName } from './types.js';

/** Each call's deadline, ms. */
export const callDeadlineMs = 1_000;

export const benchClients: Readonly<Record<BenchClientName, BenchClientFactory>> = {
  'grpc-js-round-robin': grpcJsRoundRobin,
  'grpc-js-builtin-best': grpcJsBuiltinBest,
  'nice-grpc-retry': niceGrpcRetry,
  'detour-grpc-js': detourClient('detour-grpc-js', callDeadlineMs),
  'detour-nice-grpc': detourClient('detour-nice-grpc', callDeadlineMs),
  'fetch-naive': fetchNaive,
  'undici-balanced-retry': undiciBalancedRetry,
  nginx: nginxProxy,
  'detour-fetch': detourClient('detour-fetch', callDeadlineMs),
};

const packages = [
  '@grpc/grpc-js',
  'nice-grpc',
  'nice-grpc-client-middleware-retry',
  'nice-grpc-client-middleware-deadline',
  'undici',
];

/** Package versions (read with `version(name)`), Node's bundled undici and nginx's version. */
export async function clientVersions(
  version: (name: string) => Promise<string>,
): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const name of packages) versions[name] = await version(name);
  versions['undici (Node fetch)'] = process.versions['undici'] ?? 'unknown';
  versions['nginx'] = nginxVersion();
  return versions;
}

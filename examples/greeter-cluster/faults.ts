/**
 * The faults a replica can be told to inject (admin `POST /faults`), and the parsing of what the
 * admin endpoint receives.
 */

/** What the replica reports through `grpc.health.v1` and `GET /healthz`. */
export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** The faults in force on one replica. */
export interface Faults {
  /** Delay before answering each gRPC call and each HTTP request (not health probes), in ms. */
  readonly latencyMs: number;
  /**
   * Share (0–1) of calls answered `UNAVAILABLE` (gRPC) or 503 (HTTP), spread evenly: with 0.25
   * exactly every fourth call fails, so tests need no randomness.
   */
  readonly errorRate: number;
  /** What the health service and `GET /healthz` report. Calls are still served either way. */
  readonly health: ServingStatus;
  /**
   * Share (0–1) of HTTP responses whose connection is destroyed after the headers and half of
   * the body, spread evenly like `errorRate`. HTTP only.
   */
  readonly resetRate: number;
}

/** A change to the faults: fields left out keep their current value. */
export type FaultsUpdate = Partial<Faults>;

/** A replica as it starts: no faults, serving. */
export const noFaults: Faults = Object.freeze({
  latencyMs: 0,
  errorRate: 0,
  health: 'SERVING',
  resetRate: 0,
});

/** Bad input to `POST /faults`; the admin endpoint answers it with 400. */
export class FaultsInputError extends Error {
  override readonly name = 'FaultsInputError';
}

/**
 * Reads a `FaultsUpdate` from parsed JSON, rejecting unknown keys and out-of-range values.
 *
 * @throws FaultsInputError when the input is not a valid update.
 */
export function parseFaultsUpdate(input: unknown): FaultsUpdate {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultsInputError('faults must be a JSON object');
  }
  const update: { -readonly [K in keyof Faults]?: Faults[K] } = {};
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    switch (key) {
      case 'latencyMs':
        update.latencyMs = numberIn(key, value, 0, 600_000);
        break;
      case 'errorRate':
        update.errorRate = numberIn(key, value, 0, 1);
        break;
      case 'resetRate':
        update.resetRate = numberIn(key, value, 0, 1);
        break;
      case 'health':
        if (value !== 'SERVING' && value !== 'NOT_SERVING') {
          throw new FaultsInputError(`health must be 'SERVING' or 'NOT_SERVING'`);
        }
        update.health = value;
        break;
      default:
        throw new FaultsInputError(`unknown fault '${key}'`);
    }
  }
  return update;
}

function numberIn(key: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new FaultsInputError(`${key} must be a number from ${min} to ${max}`);
  }
  return value;
}

import { Metadata, credentials, status } from '@grpc/grpc-js';
import { DetourConfigError, consecutiveFailures, createPool } from '@detour/core';
import { describe, expect, it } from 'vitest';
import { GrpcAttemptError } from './grpc-attempt-error.js';
import {
  defaultChannelOptions,
  defaultHealthCheck,
  defaultReplayBufferBytes,
  resolveFailoverOptions,
} from './failover-options.js';
import type { GrpcFailoverOptions } from './failover-options.js';

const fakePool = { execute() {}, on() {}, members() {}, closed: false };

function configError(options: unknown): DetourConfigError {
  try {
    resolveFailoverOptions(options as GrpcFailoverOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(DetourConfigError);
    return error as DetourConfigError;
  }
  throw new Error('expected a DetourConfigError');
}

describe('resolveFailoverOptions', () => {
  it('fills in the defaults', () => {
    const resolved = resolveFailoverOptions({ endpoints: ['127.0.0.1:1'] });
    expect(resolved.target).toBe('detour:///default');
    expect(resolved.replayBufferBytes).toBe(defaultReplayBufferBytes);
    expect(defaultReplayBufferBytes).toBe(65536);
    expect(resolved.channelOptions).toEqual({
      'grpc.keepalive_time_ms': 10000,
      'grpc.keepalive_timeout_ms': 5000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
    expect(resolved.isIdempotent).toBeUndefined();
    expect(resolved.poolOptions).toEqual({ endpoints: ['127.0.0.1:1'] });
    expect(resolved.credentials._isSecure()).toBe(false);
  });

  it('uses the gRPC classifier: a refused connection is retryable and was not processed', () => {
    const { classifier } = resolveFailoverOptions({ endpoints: ['127.0.0.1:1'] });
    const refused = new GrpcAttemptError(
      status.UNAVAILABLE,
      'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1',
      new Metadata(),
      false,
      0,
    );
    expect(classifier({ ok: false, error: refused })).toMatchObject({
      type: 'failure',
      retryable: true,
      processed: false,
    });
    const processed = new GrpcAttemptError(status.UNAVAILABLE, 'busy', new Metadata(), false, 0);
    expect(classifier({ ok: false, error: processed })).toMatchObject({ processed: true });
  });

  it('merges channelOptions over the defaults', () => {
    const resolved = resolveFailoverOptions({
      endpoints: ['127.0.0.1:1'],
      channelOptions: { 'grpc.keepalive_time_ms': 60000, 'grpc.max_receive_message_length': 1 },
    });
    expect(resolved.channelOptions['grpc.keepalive_time_ms']).toBe(60000);
    expect(resolved.channelOptions['grpc.max_receive_message_length']).toBe(1);
    expect(resolved.channelOptions['grpc.max_reconnect_backoff_ms']).toBe(1000);
    expect(defaultChannelOptions['grpc.keepalive_time_ms']).toBe(10000);
  });

  it('matches idempotent methods by path or by service', () => {
    const { isIdempotent } = resolveFailoverOptions({
      endpoints: ['127.0.0.1:1'],
      idempotentMethods: ['/helloworld.Greeter/SayHello', '/shop.Catalog/*'],
    });
    expect(isIdempotent!('/helloworld.Greeter/SayHello')).toBe(true);
    expect(isIdempotent!('/helloworld.Greeter/Chat')).toBe(false);
    expect(isIdempotent!('/shop.Catalog/List')).toBe(true);
    expect(isIdempotent!('/shop.Orders/Place')).toBe(false);
    const byFunction = resolveFailoverOptions({
      endpoints: ['127.0.0.1:1'],
      idempotentMethods: (path) => path.endsWith('/Get'),
    });
    expect(byFunction.isIdempotent!('/a.B/Get')).toBe(true);
  });

  it('takes an existing pool instead of pool options', () => {
    const pool = createPool({ endpoints: ['127.0.0.1:1'], metrics: false });
    const resolved = resolveFailoverOptions({ pool, name: 'shop' });
    expect(resolved.pool).toBe(pool);
    expect(resolved.poolOptions).toBeUndefined();
    expect(resolved.target).toBe('detour:///shop');
    pool.close();
    expect(configError({ pool }).option).toBe('pool');
  });

  it('accepts TLS credentials and Infinity as the replay buffer', () => {
    const resolved = resolveFailoverOptions({
      endpoints: ['127.0.0.1:1'],
      credentials: credentials.createSsl(),
      replayBufferBytes: Infinity,
    });
    expect(resolved.credentials._isSecure()).toBe(true);
    expect(resolved.replayBufferBytes).toBe(Infinity);
  });

  it.each([
    [null, 'options'],
    [{ endpoints: ['a:1'], retries: 3 }, 'retries'],
    [{ pool: {} }, 'pool'],
    [{ pool: fakePool, selector: 'random' }, 'selector'],
    [{ endpoints: ['a:1'], name: '' }, 'name'],
    [{ endpoints: ['a:1'], name: 'a/b' }, 'name'],
    [{ endpoints: ['a:1'], credentials: 'insecure' }, 'credentials'],
    [{ endpoints: ['a:1'], channelOptions: [] }, 'channelOptions'],
    [{ endpoints: ['a:1'], classifier: 'grpc' }, 'classifier'],
    [{ endpoints: ['a:1'], idempotentMethods: 'SayHello' }, 'idempotentMethods'],
    [{ endpoints: ['a:1'], idempotentMethods: ['SayHello'] }, 'idempotentMethods[0]'],
    [{ endpoints: ['a:1'], idempotentMethods: ['/a.B/C', '/a.B'] }, 'idempotentMethods[1]'],
    [{ endpoints: ['a:1'], replayBufferBytes: -1 }, 'replayBufferBytes'],
    [{ endpoints: ['a:1'], replayBufferBytes: 1.5 }, 'replayBufferBytes'],
  ])('rejects %j (option %s)', (options, option) => {
    const error = configError(options);
    expect(error.option).toBe(option);
    expect(error.code).toBe('DETOUR_CONFIG');
  });
});

describe('resolveFailoverOptions: healthCheck', () => {
  it('is on by default: the whole server, every second, 500 ms timeout, thresholds 2/2', () => {
    expect(defaultHealthCheck).toEqual({
      service: '',
      intervalMs: 1000,
      timeoutMs: 500,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    });
    expect(Object.isFrozen(defaultHealthCheck)).toBe(true);
    expect(resolveFailoverOptions({ endpoints: ['a:1'] }).healthCheck).toEqual(defaultHealthCheck);
    expect(resolveFailoverOptions({ endpoints: ['a:1'], healthCheck: {} }).healthCheck).toEqual(
      defaultHealthCheck,
    );
  });

  it('takes each field given and the defaults for the others', () => {
    const { healthCheck } = resolveFailoverOptions({
      endpoints: ['a:1'],
      healthCheck: { service: 'helloworld.Greeter', intervalMs: 250, unhealthyThreshold: 1 },
    });
    expect(healthCheck).toEqual({
      service: 'helloworld.Greeter',
      intervalMs: 250,
      timeoutMs: 500,
      healthyThreshold: 2,
      unhealthyThreshold: 1,
    });
  });

  it('is off with false, and with a pool unless given', () => {
    expect(
      resolveFailoverOptions({ endpoints: ['a:1'], healthCheck: false }).healthCheck,
    ).toBeUndefined();
    const pool = createPool({ endpoints: ['127.0.0.1:1'], metrics: false });
    try {
      expect(resolveFailoverOptions({ pool }).healthCheck).toBeUndefined();
      expect(resolveFailoverOptions({ pool, healthCheck: false }).healthCheck).toBeUndefined();
      expect(configError({ pool, healthCheck: {} }).message).toMatch(/together with pool/);
    } finally {
      pool.close();
    }
  });

  it('leaves room for its heartbeat among the detectors (core allows 30)', () => {
    const detectors = Array.from({ length: 29 }, () => consecutiveFailures());
    expect(resolveFailoverOptions({ endpoints: ['a:1'], detectors }).healthCheck).toBeDefined();
    const full = [...detectors, consecutiveFailures()];
    const error = configError({ endpoints: ['a:1'], detectors: full });
    expect(error.option).toBe('detectors');
    expect(error.message).toMatch(/at most 29 detectors with healthCheck on/);
    // Off, the 30 go to createPool as they are.
    expect(
      resolveFailoverOptions({ endpoints: ['a:1'], detectors: full, healthCheck: false })
        .poolOptions?.detectors,
    ).toBe(full);
  });

  it('needs real grpc-js credentials for its probe channels', () => {
    const fake = { _isSecure: () => false };
    expect(configError({ endpoints: ['a:1'], credentials: fake }).option).toBe('credentials');
    expect(
      resolveFailoverOptions({
        endpoints: ['a:1'],
        credentials: fake as never,
        healthCheck: false,
      }).credentials,
    ).toBe(fake);
  });

  it.each([
    [true, 'healthCheck'],
    ['on', 'healthCheck'],
    [null, 'healthCheck'],
    [[], 'healthCheck'],
    [{ interval: 1000 }, 'healthCheck.interval'],
    [{ service: 1 }, 'healthCheck.service'],
    [{ service: null }, 'healthCheck.service'],
    [{ intervalMs: 0 }, 'healthCheck.intervalMs'],
    [{ intervalMs: -1 }, 'healthCheck.intervalMs'],
    [{ intervalMs: Number.NaN }, 'healthCheck.intervalMs'],
    [{ intervalMs: Infinity }, 'healthCheck.intervalMs'],
    [{ intervalMs: 2 ** 31 }, 'healthCheck.intervalMs'],
    [{ intervalMs: '1000' }, 'healthCheck.intervalMs'],
    [{ timeoutMs: 0 }, 'healthCheck.timeoutMs'],
    [{ timeoutMs: -5 }, 'healthCheck.timeoutMs'],
    [{ healthyThreshold: 0 }, 'healthCheck.healthyThreshold'],
    [{ healthyThreshold: 1.5 }, 'healthCheck.healthyThreshold'],
    [{ unhealthyThreshold: 0 }, 'healthCheck.unhealthyThreshold'],
    [{ unhealthyThreshold: '2' }, 'healthCheck.unhealthyThreshold'],
  ])('rejects healthCheck %j (option %s)', (healthCheck, option) => {
    const error = configError({ endpoints: ['a:1'], healthCheck });
    expect(error.option).toBe(option);
    expect(error.code).toBe('DETOUR_CONFIG');
  });

  it('rejects detectors that are not an array before making anything', () => {
    expect(configError({ endpoints: ['a:1'], detectors: 'none' }).option).toBe('detectors');
  });
});

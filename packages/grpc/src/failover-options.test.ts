import { Metadata, credentials, status } from '@grpc/grpc-js';
import { DetourConfigError, createPool } from '@detour/core';
import { describe, expect, it } from 'vitest';
import { GrpcAttemptError } from './grpc-attempt-error.js';
import {
  defaultChannelOptions,
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

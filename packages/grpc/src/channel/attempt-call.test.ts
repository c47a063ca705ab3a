import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from '@detour/core';
import type { AttemptContext, Pool } from '@detour/core';
import { GrpcAttemptError } from '../grpc-attempt-error.js';
import { startGreeter } from '../test-support/failover-greeter.js';
import type { GreeterReplica } from '../test-support/failover-greeter.js';
import { AttemptCall } from './attempt-call.js';

let replica: GreeterReplica;
let channel: grpc.Channel;
let pool: Pool;

beforeEach(async () => {
  replica = await startGreeter('a');
  replica.mode = 'hang';
  channel = new grpc.Channel(replica.address, grpc.credentials.createInsecure(), {});
  pool = createPool({ endpoints: [replica.address], detectors: [], metrics: false });
});

afterEach(async () => {
  pool.close();
  channel.close();
  await replica.stop();
});

/** A SayHello (empty request) on the replica's channel, started as the detour call starts one. */
function sayHello(context: AttemptContext): AttemptCall {
  const call = channel.createCall('/helloworld.Greeter/SayHello', Infinity, null, null, null);
  const attempt = new AttemptCall(call, true, context);
  attempt.start(new grpc.Metadata());
  attempt.send(undefined, Buffer.alloc(0));
  attempt.halfClose();
  return attempt;
}

async function statusOf(attempt: AttemptCall): Promise<[number, string]> {
  const error = await attempt.response.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(GrpcAttemptError);
  return [(error as GrpcAttemptError).code, (error as GrpcAttemptError).details];
}

describe('AttemptCall', () => {
  it('cancels its call with CANCELLED "detour: attempt stopped: <reason>" when the attempt is stopped', async () => {
    let attempt: AttemptCall | undefined;
    const running = pool.start((_, context) => {
      attempt = sayHello(context);
      return attempt.response;
    });
    await expect.poll(() => replica.calls).toBe(1); // the server has it
    const reason = new Error('the client went away');
    running.cancel(reason);
    await expect(running.result).rejects.toBe(reason);
    expect(await statusOf(attempt!)).toEqual([
      grpc.status.CANCELLED,
      'detour: attempt stopped: the client went away',
    ]);
    await expect.poll(() => replica.cancelled).toBe(1);
  });

  it('cancels its call at once when the attempt was stopped before it started', async () => {
    let context: AttemptContext | undefined;
    const running = pool.start((_, ctx) => {
      context = ctx;
      return new Promise<never>(() => {});
    });
    running.cancel(new Error('lost the race'));
    await expect(running.result).rejects.toThrow('lost the race');
    expect(await statusOf(sayHello(context!))).toEqual([
      grpc.status.CANCELLED,
      'detour: attempt stopped: lost the race',
    ]);
  });
});

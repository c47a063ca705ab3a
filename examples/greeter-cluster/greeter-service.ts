/**
 * The replica's implementation of `helloworld.Greeter`: every answer names the replica (reply text
 * and `x-replica` in both response metadata and trailers) and goes through the fault injector.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { HelloReply, HelloRequest } from './greeter-proto.js';
import { replicaHeader } from './replica-context.js';
import type { ReplicaContext } from './replica-context.js';

/** The parts of a grpc-js server call this file needs, whatever the call's kind. */
interface ServerCall {
  readonly cancelled: boolean;
  getPath(): string;
  on(event: 'cancelled', listener: () => void): unknown;
}

/** Handlers for every method of `helloworld.Greeter`, to pass to `server.addService`. */
export function greeterHandlers(ctx: ReplicaContext): grpc.UntypedServiceImplementation {
  const sayHello: grpc.handleUnaryCall<HelloRequest, HelloReply> = (call, callback) => {
    void (async () => {
      const admission = await admit(ctx, call);
      if (admission === 'abandoned') return;
      if (admission === 'fail') return callback(unavailable(ctx));
      call.sendMetadata(replicaMetadata(ctx));
      callback(null, { message: greeting(call.request.name, ctx) }, replicaMetadata(ctx));
    })();
  };

  const sayHelloStream: grpc.handleServerStreamingCall<HelloRequest, HelloReply> = (call) => {
    void (async () => {
      const signal = callSignal(call);
      const admission = await admit(ctx, call, signal);
      if (admission === 'abandoned') return;
      if (admission === 'fail') return void call.emit('error', unavailable(ctx));
      call.sendMetadata(replicaMetadata(ctx));
      const { name, count = 0, intervalMs = 0 } = call.request;
      for (let i = 1; i <= count; i++) {
        if (i > 1 && intervalMs > 0) {
          try {
            await sleep(intervalMs, undefined, { signal });
          } catch {
            return;
          }
        }
        if (signal.aborted) return;
        call.write({ message: `${greeting(name, ctx)} (${i}/${count})` });
      }
      call.end(replicaMetadata(ctx));
    })();
  };

  const sayHelloMany: grpc.handleClientStreamingCall<HelloRequest, HelloReply> = (
    call,
    callback,
  ) => {
    void (async () => {
      const admission = await admit(ctx, call);
      if (admission === 'abandoned') return;
      if (admission === 'fail') return callback(unavailable(ctx));
      const names: string[] = [];
      call.on('data', (request: HelloRequest) => names.push(request.name));
      call.on('end', () => {
        call.sendMetadata(replicaMetadata(ctx));
        callback(null, { message: greeting(names.join(', '), ctx) }, replicaMetadata(ctx));
      });
    })();
  };

  const chat: grpc.handleBidiStreamingCall<HelloRequest, HelloReply> = (call) => {
    void (async () => {
      const admission = await admit(ctx, call);
      if (admission === 'abandoned') return;
      if (admission === 'fail') return void call.emit('error', unavailable(ctx));
      call.sendMetadata(replicaMetadata(ctx));
      call.on('data', (request: HelloRequest) => {
        call.write({ message: greeting(request.name, ctx) });
      });
      call.on('end', () => call.end(replicaMetadata(ctx)));
    })();
  };

  return {
    SayHello: sayHello,
    SayHelloStream: sayHelloStream,
    SayHelloMany: sayHelloMany,
    Chat: chat,
  };
}

function greeting(name: string, ctx: ReplicaContext): string {
  return `Hello ${name} from ${ctx.name}`;
}

function replicaMetadata(ctx: ReplicaContext): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(replicaHeader, ctx.name);
  return metadata;
}

function unavailable(ctx: ReplicaContext): Partial<grpc.StatusObject> {
  return {
    code: grpc.status.UNAVAILABLE,
    details: `injected fault: ${ctx.name} is unavailable`,
    metadata: replicaMetadata(ctx),
  };
}

/** Aborts when the client cancels the call or its deadline passes. */
function callSignal(call: ServerCall): AbortSignal {
  const controller = new AbortController();
  if (call.cancelled) controller.abort();
  else call.on('cancelled', () => controller.abort());
  return controller.signal;
}

function admit(
  ctx: ReplicaContext,
  call: ServerCall,
  signal = callSignal(call),
): ReturnType<ReplicaContext['faults']['admit']> {
  ctx.stats.record('grpc', call.getPath());
  return ctx.faults.admit(signal);
}

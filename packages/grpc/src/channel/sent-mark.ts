/**
 * Whether an attempt's request has left: grpc-js holds a call until its channel is READY, so a
 * call started on a channel that is not READY has provably not been sent until the channel gets
 * there. The attempt is marked unsent (`markSent(false)`) until then, and the core retries it
 * even when the call is not idempotent if it times out first (grpc-js has no connect timeout:
 * without this, a non-idempotent call to a black-holed address could only fail).
 */
import { connectivityState as ConnectivityState } from '@grpc/grpc-js';
import type { Channel } from '@grpc/grpc-js';
import type { AttemptContext } from '@detour/core';

/**
 * Marks the attempt unsent while `channel` is not READY, and sent once it is (or shuts down,
 * when nothing is known). Watches at most until `deadline` (ms since the epoch, or Infinity).
 */
export function markSentWhenReady(
  channel: Channel,
  context: AttemptContext,
  deadline: number,
): void {
  let state = channel.getConnectivityState(false);
  if (state === ConnectivityState.READY) return;
  context.markSent(false);
  const watch = (): void => {
    channel.watchConnectivityState(state, deadline, (error) => {
      if (error) return; // the deadline passed: the attempt is over
      state = channel.getConnectivityState(false);
      if (state === ConnectivityState.READY || state === ConnectivityState.SHUTDOWN) {
        context.markSent(true);
        return;
      }
      if (!context.aborted) watch();
    });
  };
  watch();
}

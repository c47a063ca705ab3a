/**
 * Per-call hints for the detour channel, for clients that cannot pass a method definition to the
 * channel (nice-grpc, whose middleware sees the definition but not the channel): a request header
 * that says whether this one call may run twice.
 *
 * The header is read and removed by the detour call before any attempt is sent, so it never
 * reaches a server. Its value carries a random token of the channel that made it: a header that
 * came from elsewhere (a gateway that copies an incoming request's metadata to its outgoing
 * calls) is removed too, and ignored, so no caller of a service can make that service's
 * non-idempotent calls retryable.
 */
import { randomBytes } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';

/** The request header of the idempotency hint (see `DetourChannel.idempotencyHint()`). */
export const idempotencyHintHeader = 'detour-idempotent';

export class CallHints {
  readonly #token = randomBytes(16).toString('base64url');

  /** The header value that tells this channel's call it may (`true`) or may not run twice. */
  idempotency(idempotent: boolean): string {
    return `${idempotent ? 'yes' : 'no'};${this.#token}`;
  }

  /**
   * Removes the hint from `metadata` and returns what it says: true or false from a value this
   * channel made (the last, if several), undefined when there is none or none of ours.
   */
  take(metadata: Metadata): boolean | undefined {
    const values = metadata.get(idempotencyHintHeader);
    if (values.length === 0) return undefined;
    metadata.remove(idempotencyHintHeader);
    let idempotent: boolean | undefined;
    // grpc-js joins repeated values of a header into one, separated by ", ".
    for (const value of values.flatMap((v) => String(v).split(','))) {
      const trimmed = value.trim();
      if (trimmed === this.idempotency(true)) idempotent = true;
      else if (trimmed === this.idempotency(false)) idempotent = false;
    }
    return idempotent;
  }
}

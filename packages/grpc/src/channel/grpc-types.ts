/**
 * Names for the grpc-js types the detour channel works with. grpc-js exports the `Channel`
 * interface (as `ChannelInterface`) but not the call object its `createCall` returns; taking
 * these types from that public interface, instead of from `experimental` or from build paths,
 * keeps detour on the stable surface.
 */
import type { ChannelInterface } from '@grpc/grpc-js';

/** The call object a channel's `createCall` returns (grpc-js `call-interface.ts` `Call`). */
export type GrpcCall = ReturnType<ChannelInterface['createCall']>;

/** The listener a call reports to; messages are serialized `Buffer`s at this level. */
export type CallListener = Parameters<GrpcCall['start']>[1];

/** Flags and the write callback of one outgoing message. */
export type MessageContext = Parameters<GrpcCall['sendMessageWithContext']>[0];

/** Per-call credentials (`CallOptions.credentials`), applied with `setCredentials`. */
export type CallCredentialsLike = Parameters<GrpcCall['setCredentials']>[0];

/** The server call a client call may propagate its deadline and cancellation from. */
export type ParentCall = Parameters<ChannelInterface['createCall']>[3];

/** A call deadline: a `Date`, or ms since the epoch (`Infinity` for none). */
export type CallDeadline = Parameters<ChannelInterface['createCall']>[1];

export type ChannelzRef = ReturnType<ChannelInterface['getChannelzRef']>;

export type AuthContextLike = ReturnType<GrpcCall['getAuthContext']>;

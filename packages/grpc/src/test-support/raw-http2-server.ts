/**
 * A bare `node:http2` server that misbehaves at the HTTP/2 level in ways a grpc-js server cannot
 * be told to: refusing every stream (RST_STREAM REFUSED_STREAM) or dropping the connection as
 * soon as a request arrives. Counts the streams it sees.
 */
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { constants, createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';

export type RawHttp2Behaviour = 'refuse-stream' | 'drop-connection';

export interface RawHttp2Server {
  readonly address: string;
  /** Streams received so far. */
  readonly streams: () => number;
  close(): Promise<void>;
}

export async function startRawHttp2Server(behaviour: RawHttp2Behaviour): Promise<RawHttp2Server> {
  const server = createServer();
  let streams = 0;
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream: ServerHttp2Stream) => {
    streams++;
    stream.on('error', () => {
      // The client sees the reset; nothing to do here.
    });
    if (behaviour === 'refuse-stream') stream.close(constants.NGHTTP2_REFUSED_STREAM);
    else stream.session?.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    streams: () => streams,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

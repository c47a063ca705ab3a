/** Reading a whole HTTP request body. */
import type { IncomingMessage } from 'node:http';

/** Largest body the replica reads (1 MiB); larger requests are refused. */
export const maxBodyBytes = 1024 * 1024;

/** Reads the body of `request` into one buffer; rejects past `maxBodyBytes`. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) throw new Error(`body larger than ${maxBodyBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

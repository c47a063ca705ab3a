/** Traffic senders over HTTP for `UnaryTraffic` (test/support/grpc-traffic.ts). */
import type { DetourFetch } from '@detour/http';
import type { Send } from './grpc-traffic.js';

/** `GET /hello` through `fetch`, as a traffic sender: the replica from the JSON reply. */
export function helloSender(fetch: DetourFetch): Send {
  return async (seq, deadlineMs) => {
    try {
      const response = await fetch(`/hello?name=c${seq}`, { detour: { deadlineMs } });
      if (response.status !== 200) {
        return { error: { code: response.status, details: await response.text() } };
      }
      const reply = (await response.json()) as { replica: string };
      return { replica: reply.replica, header: response.headers.get('x-replica') ?? undefined };
    } catch (error) {
      const e = error as { code?: string; name?: string; message?: string };
      return { error: { code: e.code ?? e.name ?? 'error', details: String(e.message) } };
    }
  };
}

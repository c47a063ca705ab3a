/** Requests to a replica's admin interface (plain HTTP, one connection per request). */
import { request } from 'node:http';

/** How long an admin request may take before it fails, in ms; a frozen replica never answers. */
export const adminTimeoutMs = 2_000;

/**
 * Sends `method path` with an optional JSON body to the admin interface at `adminUrl` and returns
 * the parsed JSON answer.
 *
 * @throws Error on a non-2xx answer, a connection failure, or no answer within `adminTimeoutMs`.
 */
export function adminRequest(
  adminUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, adminUrl),
      {
        method,
        agent: false,
        timeout: adminTimeoutMs,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            reject(new Error(`admin ${method} ${path} answered ${status}: ${text}`));
            return;
          }
          try {
            resolve(JSON.parse(text) as unknown);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(
        new Error(`admin ${method} ${path} got no answer in ${adminTimeoutMs} ms (frozen?)`),
      ),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

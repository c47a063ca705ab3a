import { DetourConfigError, isDetourError } from '@detour/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestBody, RequestBodyInit } from './body.js';
import { BodyNotReplayableError, prepareBody } from './body.js';
import type { BodyServer, SeenRequest } from './test-support/body-server.js';
import {
  openSockets,
  refusingUrl,
  startBodyServer,
  waitForSockets,
} from './test-support/body-server.js';

const KiB = 1024;

let server: BodyServer;
let baseline: string[];

beforeAll(async () => {
  baseline = openSockets();
  server = await startBodyServer();
});

afterAll(async () => {
  await server.close();
  await waitForSockets(baseline);
});

/** Sends one attempt of `body` to `url` with the real global fetch, as the adapter does. */
async function attempt(body: RequestBody, url: URL = server.url): Promise<string> {
  return send(body.forAttempt(), url);
}

async function send(sent: BodyInit | null, url: URL = server.url): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    body: sent,
    redirect: 'manual',
    ...(sent instanceof ReadableStream && { duplex: 'half' }),
  });
  return response.text();
}

/** Sends two attempts and returns what the server saw for each. */
async function twice(body: RequestBody): Promise<[SeenRequest, SeenRequest]> {
  const before = server.requests.length;
  expect(await attempt(body)).toBe('ok');
  expect(await attempt(body)).toBe('ok');
  const [first, second] = server.requests.slice(before);
  return [first!, second!];
}

/** Bytes 0, 1, 2… of the given length. */
function bytes(length: number, start = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) % 251);
}

interface TrackedSource {
  readonly stream: ReadableStream<Uint8Array>;
  /** Chunks handed out by the source so far. */
  readonly pulls: () => number;
  readonly cancelled: unknown[];
  /** The concatenation of every chunk. */
  readonly all: Buffer;
}

/** A pull-based source of `chunks`, one per pull, that records reads and cancellation. */
function trackedSource(chunks: readonly Uint8Array[], failAt?: number): TrackedSource {
  let index = 0;
  const cancelled: unknown[] = [];
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (index === failAt) return controller.error(new Error('source failed'));
        const chunk = chunks[index++];
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      },
      cancel(reason) {
        cancelled.push(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulls: () => index, cancelled, all: Buffer.concat(chunks) };
}

/** `count` chunks of `size` bytes. */
function chunksOf(count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => bytes(size, i * size));
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let result = await reader.read(); !result.done; result = await reader.read()) {
    parts.push(result.value);
  }
  return Buffer.concat(parts);
}

describe('bodies fetch extracts afresh', () => {
  const cases: [string, () => RequestBodyInit, string, string | undefined][] = [
    ['a string', () => 'héllo wörld 😀', 'héllo wörld 😀', 'text/plain;charset=UTF-8'],
    [
      'an ArrayBuffer',
      () => new TextEncoder().encode('array buffer').buffer,
      'array buffer',
      undefined,
    ],
    ['a Uint8Array', () => new TextEncoder().encode('uint8'), 'uint8', undefined],
    ['a Uint16Array', () => new Uint16Array([0x6968, 0x2121]), 'hi!!', undefined],
    [
      'a DataView on part of a buffer',
      () => new DataView(new TextEncoder().encode('xxdataviewyy').buffer, 2, 8),
      'dataview',
      undefined,
    ],
    ['a Buffer', () => Buffer.from('node buffer'), 'node buffer', undefined],
    [
      'a Blob',
      () => new Blob(['blob ', 'parts'], { type: 'text/x-blob' }),
      'blob parts',
      'text/x-blob',
    ],
    ['a File', () => new File(['file'], 'a.txt', { type: 'text/plain' }), 'file', 'text/plain'],
    [
      'URLSearchParams',
      () => new URLSearchParams({ q: 'a b', r: 'ü' }),
      'q=a+b&r=%C3%BC',
      'application/x-www-form-urlencoded;charset=UTF-8',
    ],
  ];

  it.each(cases)(
    'gives %s to every attempt: the server sees the same bytes and Content-Type',
    async (_, make, text, contentType) => {
      const body = await prepareBody(make(), 0);
      expect(body).toMatchObject({ streamed: false, whole: true, size: Buffer.byteLength(text) });
      const [first, second] = await twice(body);
      for (const seen of [first, second]) {
        expect(seen.body.toString()).toBe(text);
        expect(seen.headers['content-type']).toBe(contentType);
        expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(text)));
      }
      expect(body.canReplay()).toBe(true);
    },
  );

  it('gives FormData to every attempt: same parts, whatever the boundary', async () => {
    const form = new FormData();
    form.append('name', 'value');
    form.append('upload', new File(['file content'], 'f.txt', { type: 'text/plain' }));
    const body = await prepareBody(form, 0);
    expect(body).toMatchObject({ streamed: false, whole: true, size: undefined });
    const seen = await twice(body);
    for (const request of seen) {
      const type = request.headers['content-type']!;
      expect(type).toMatch(/^multipart\/form-data; boundary=/);
      const parsed = await new Response(new Uint8Array(request.body), {
        headers: { 'content-type': type },
      }).formData();
      expect(parsed.get('name')).toBe('value');
      const file = parsed.get('upload') as File;
      expect([file.name, file.type, await file.text()]).toEqual([
        'f.txt',
        'text/plain',
        'file content',
      ]);
    }
  });

  it('sends no body when there is none', async () => {
    for (const none of [null, undefined]) {
      const body = await prepareBody(none, 64 * KiB);
      expect(body).toMatchObject({ streamed: false, whole: true, size: 0 });
      expect(body.forAttempt()).toBeNull();
      const [first, second] = await twice(body);
      expect([first.body.length, second.body.length]).toEqual([0, 0]);
    }
  });

  it('copies buffers, FormData and URLSearchParams when prepared, as fetch does', async () => {
    const array = new TextEncoder().encode('before');
    const buffer = new TextEncoder().encode('before').buffer;
    const form = new FormData();
    form.append('a', 'before');
    const params = new URLSearchParams({ a: 'before' });
    const bodies = await Promise.all([array, buffer, form, params].map((b) => prepareBody(b, 0)));
    array.set(new TextEncoder().encode('after!'));
    new Uint8Array(buffer).set(new TextEncoder().encode('after!'));
    form.set('a', 'after');
    params.set('a', 'after');
    const sent = await Promise.all(
      bodies.map((body) =>
        new Request(server.url, { method: 'POST', body: body.forAttempt() }).text(),
      ),
    );
    expect(sent[0]).toBe('before');
    expect(sent[1]).toBe('before');
    expect(sent[2]).toContain('before');
    expect(sent[3]).toBe('a=before');
  });

  it('gives the UTF-8 size of strings, lone surrogates included', async () => {
    for (const text of ['', 'ascii', 'é', '€', '😀', 'a\ud800b', '\udc00', 'x\ud83d']) {
      const body = await prepareBody(text, 0);
      expect(body.size).toBe(new TextEncoder().encode(text).byteLength);
    }
  });

  it('cannot be given after release', async () => {
    const body = await prepareBody('text', 0);
    body.release();
    body.release();
    expect(body.canReplay()).toBe(false);
    expect(() => body.forAttempt()).toThrow(TypeError);
  });
});

describe('a stream within the bound', () => {
  it('is held whole and given as bytes to every attempt', async () => {
    const source = trackedSource(chunksOf(4, 1000));
    const body = await prepareBody(source.stream, 4000);
    expect(body).toMatchObject({ streamed: false, whole: true, size: 4000 });
    expect(body.forAttempt()).toBeInstanceOf(Uint8Array);
    const [first, second] = await twice(body);
    expect(first.body.equals(source.all)).toBe(true);
    expect(second.body.equals(source.all)).toBe(true);
    expect(source.cancelled).toEqual([]);
  });

  it("holds a Request's body (a stream even for a string)", async () => {
    const request = new Request(server.url, { method: 'POST', body: 'from a Request' });
    const body = await prepareBody(request.body, 64 * KiB);
    expect(body).toMatchObject({ streamed: false, whole: true, size: 14 });
    const [first, second] = await twice(body);
    expect([first.body.toString(), second.body.toString()]).toEqual([
      'from a Request',
      'from a Request',
    ]);
  });

  it('holds an async iterable, strings encoded as UTF-8', async () => {
    async function* chunks(): AsyncGenerator<Uint8Array | string> {
      yield new TextEncoder().encode('bytes, ');
      await Promise.resolve(); // a chunk that comes later
      yield 'then text: ü';
    }
    const body = await prepareBody(chunks(), 64 * KiB);
    expect(body).toMatchObject({ whole: true, size: 20 });
    const [first, second] = await twice(body);
    expect([first.body.toString(), second.body.toString()]).toEqual([
      'bytes, then text: ü',
      'bytes, then text: ü',
    ]);
  });
});

describe('a stream beyond the bound', () => {
  it('sends the held prefix then the rest; not replayable once read past the prefix', async () => {
    const source = trackedSource(chunksOf(64, 1024));
    const body = await prepareBody(source.stream, 8 * KiB);
    expect(body).toMatchObject({ streamed: true, whole: false, size: undefined });
    // Read ahead to just past the bound: the prefix may hold the chunk that crossed it.
    expect(source.pulls()).toBe(9);
    expect(body.canReplay()).toBe(true);
    const before = server.requests.length;
    expect(await attempt(body)).toBe('ok');
    expect(server.requests[before]!.body.equals(source.all)).toBe(true);
    expect(body.canReplay()).toBe(false);
    const error = (() => {
      try {
        body.forAttempt();
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(BodyNotReplayableError);
    expect(isDetourError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'DETOUR_BODY_NOT_REPLAYABLE',
      limitBytes: 8 * KiB,
      bytesSent: 64 * KiB,
    });
    expect((error as Error).message).toContain('replayBufferBytes');
    expect((error as Error).message).toContain(String(64 * KiB));
    body.release();
    expect(source.cancelled).toEqual([]); // read to its end: nothing to cancel
  });

  it('is replayable after an attempt whose connection was refused', async () => {
    const source = trackedSource(chunksOf(32, 1024));
    const body = await prepareBody(source.stream, 4 * KiB);
    const refused = await refusingUrl();
    const sent = body.forAttempt();
    const error = await send(sent, refused).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    // undici reads a chunk of the body before connecting: a prefix chunk, so still replayable.
    expect(body.canReplay()).toBe(true);
    body.endAttempt(sent);
    const before = server.requests.length;
    expect(await attempt(body)).toBe('ok');
    expect(server.requests[before]!.body.equals(source.all)).toBe(true);
  });

  it('retires the stream of the previous attempt, so two never share the source', async () => {
    const source = trackedSource(chunksOf(8, 100));
    const body = await prepareBody(source.stream, 250);
    const first = body.forAttempt() as ReadableStream<Uint8Array>;
    const reader = first.getReader();
    expect((await reader.read()).value).toEqual(bytes(100));
    const second = body.forAttempt() as ReadableStream<Uint8Array>;
    await expect(reader.read()).rejects.toThrow(TypeError);
    expect((await readAll(second)).equals(source.all)).toBe(true);
  });

  it("ignores endAttempt() for an earlier attempt's stream", async () => {
    const source = trackedSource(chunksOf(8, 100));
    const body = await prepareBody(source.stream, 250);
    const first = body.forAttempt();
    const second = body.forAttempt() as ReadableStream<Uint8Array>;
    body.endAttempt(first); // the first attempt's rejection, seen after the second started
    expect((await readAll(second)).equals(source.all)).toBe(true);
  });

  it('stays replayable after endAttempt() while only the prefix was read', async () => {
    const source = trackedSource(chunksOf(8, 100));
    const body = await prepareBody(source.stream, 250);
    const sent = body.forAttempt() as ReadableStream<Uint8Array>;
    const reader = sent.getReader();
    for (let i = 0; i < 3; i++) await reader.read(); // the whole prefix
    body.endAttempt(sent);
    await expect(reader.read()).rejects.toThrow(TypeError);
    expect(source.pulls()).toBe(3);
    expect(body.canReplay()).toBe(true);
    expect(
      (await readAll(body.forAttempt() as ReadableStream<Uint8Array>)).equals(source.all),
    ).toBe(true);
  });

  it('fails the attempt that reads a failing source, with the source error as cause', async () => {
    const source = trackedSource(chunksOf(16, 1024), 10);
    const body = await prepareBody(source.stream, 4 * KiB);
    const error = await attempt(body).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).cause).toMatchObject({ message: 'source failed' });
    expect(body.canReplay()).toBe(false);
    expect(() => body.forAttempt()).toThrow(BodyNotReplayableError);
  });

  it('rejects with the source error when it fails during the read ahead', async () => {
    const source = trackedSource(chunksOf(16, 1024), 2);
    await expect(prepareBody(source.stream, 4 * KiB)).rejects.toThrow('source failed');
  });

  it('cancels an unread source on release', async () => {
    const source = trackedSource(chunksOf(16, 1024));
    const body = await prepareBody(source.stream, 4 * KiB);
    const reason = new Error('call over');
    body.release(reason);
    body.release(new Error('again'));
    expect(source.cancelled).toEqual([reason]);
    expect(body.canReplay()).toBe(false);
    expect(() => body.forAttempt()).toThrow(TypeError);
  });

  it('cancels the source on release after an attempt failed past the prefix', async () => {
    const source = trackedSource(chunksOf(16, 1024));
    const body = await prepareBody(source.stream, 2 * KiB);
    const sent = body.forAttempt() as ReadableStream<Uint8Array>;
    const reader = sent.getReader();
    for (let i = 0; i < 5; i++) await reader.read();
    body.endAttempt(sent);
    body.release('failed');
    expect(source.cancelled).toEqual(['failed']);
    await expect(reader.read()).rejects.toThrow(TypeError);
  });

  it('leaves the rest of the source to an attempt that got a response', async () => {
    const early = await startBodyServer(() => ({ early: true }));
    try {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const chunks = chunksOf(16, 1024);
      let index = 0;
      const stream = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            if (index === 8) await gate; // the rest comes after the response
            const chunk = chunks[index++];
            if (chunk === undefined) controller.close();
            else controller.enqueue(chunk);
          },
        },
        { highWaterMark: 0 },
      );
      const body = await prepareBody(stream, 4 * KiB);
      const response = await fetch(early.url, {
        method: 'POST',
        body: body.forAttempt(),
        duplex: 'half',
        redirect: 'manual',
      } as RequestInit);
      expect(response.status).toBe(200);
      body.release(new Error('call settled')); // as in a finally: must not cut the upload
      release();
      await response.text();
      await early.waitForRequests(1);
      expect(early.requests[0]!.complete).toBe(true);
      expect(early.requests[0]!.body.equals(Buffer.concat(chunks))).toBe(true);
    } finally {
      await early.close();
    }
  });

  it('handles an async iterable the same way, and ends it on release', async () => {
    let finished = false;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < 16; i++) {
          await Promise.resolve();
          yield bytes(1024, i * 1024);
        }
      } finally {
        finished = true;
      }
    }
    const unread = await prepareBody(chunks(), 2 * KiB);
    expect(unread).toMatchObject({ streamed: true, whole: false });
    unread.release();
    await Promise.resolve();
    expect(finished).toBe(true);

    const source = chunks();
    const body = await prepareBody(source, 2 * KiB);
    const before = server.requests.length;
    expect(await attempt(body)).toBe('ok');
    expect(server.requests[before]!.body.length).toBe(16 * 1024);
  });

  it('with bound 0, is not read ahead and is sent once', async () => {
    const source = trackedSource(chunksOf(4, 1000));
    const body = await prepareBody(source.stream, 0);
    expect(source.pulls()).toBe(0);
    expect(body).toMatchObject({ streamed: true, whole: false });
    expect(body.canReplay()).toBe(true);
    const before = server.requests.length;
    expect(await attempt(body)).toBe('ok');
    expect(server.requests[before]!.body.equals(source.all)).toBe(true);
    expect(body.canReplay()).toBe(false);
  });
});

describe('prepareBody', () => {
  it('aborts the read ahead with the signal, cancelling the source', async () => {
    const cancelled: unknown[] = [];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes(10)); // then nothing more: the read ahead waits
      },
      cancel(reason) {
        cancelled.push(reason);
      },
    });
    const controller = new AbortController();
    const prepared = prepareBody(stream, 1000, controller.signal);
    const reason = new Error('caller aborted');
    controller.abort(reason);
    await expect(prepared).rejects.toBe(reason);
    expect(cancelled).toEqual([reason]);
    const aborted = trackedSource(chunksOf(2, 10));
    await expect(prepareBody(aborted.stream, 1000, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(aborted.pulls()).toBe(0);
  });

  it('rejects a locked stream and chunks that are not bytes with a TypeError', async () => {
    const locked = trackedSource([]).stream;
    locked.getReader();
    await expect(prepareBody(locked, 1000)).rejects.toThrow(TypeError);
    const numbers = new ReadableStream({
      start(controller) {
        controller.enqueue(42);
        controller.close();
      },
    });
    await expect(prepareBody(numbers as ReadableStream<Uint8Array>, 1000)).rejects.toThrow(
      TypeError,
    );
  });

  it.each([-1, 1.5, Number.NaN, Infinity])('rejects replayBufferBytes %s', async (limit) => {
    const error = await prepareBody('x', limit).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(DetourConfigError);
    expect(error).toMatchObject({ option: 'replayBufferBytes', value: limit });
  });
});

import { describe, expect, it } from 'vitest';
import { BaseUrl, BaseUrlCache, resolveAgainstBase } from './url.js';

describe('resolveAgainstBase', () => {
  it.each([
    // The base's path is a prefix that is kept, with or without its trailing slash.
    ['http://h:8080', '/healthz', 'http://h:8080/healthz'],
    ['http://h:8080/', '/healthz', 'http://h:8080/healthz'],
    ['http://h/api', '/healthz', 'http://h/api/healthz'],
    ['http://h/api/', '/healthz', 'http://h/api/healthz'],
    ['http://h/api/v1', '/healthz', 'http://h/api/v1/healthz'],
    ['https://h:8443/api', '/healthz', 'https://h:8443/api/healthz'],
    // A path without its leading slash is the same path.
    ['http://h/api', 'healthz', 'http://h/api/healthz'],
    ['http://h/api/', 'healthz', 'http://h/api/healthz'],
    // The path's own trailing slash stays.
    ['http://h/api', '/healthz/', 'http://h/api/healthz/'],
    ['http://h/api', '/', 'http://h/api/'],
    // An empty path keeps the base's path as it is.
    ['http://h/api', '', 'http://h/api'],
    ['http://h/api/', '', 'http://h/api/'],
    // The query is the path's; the base's is dropped.
    ['http://h/api', '/ready?full=1&x=a', 'http://h/api/ready?full=1&x=a'],
    ['http://h/api/', '/ready/?full=1', 'http://h/api/ready/?full=1'],
    ['http://h/api?key=1', '/healthz', 'http://h/api/healthz'],
    ['http://h/api?key=1', '/healthz?x=2', 'http://h/api/healthz?x=2'],
    ['http://h/api', '?x=1', 'http://h/api?x=1'],
    ['http://h/api/', '?x=1', 'http://h/api/?x=1'],
    ['http://h/api', '/healthz?', 'http://h/api/healthz?'],
    // Fragments are never sent.
    ['http://h/api#top', '/healthz#x', 'http://h/api/healthz'],
    ['http://h/api', '/healthz?x=1#frag', 'http://h/api/healthz?x=1'],
    // Never another origin: these are paths under the base.
    ['http://h/api', '//other/x', 'http://h/api//other/x'],
    ['http://h/api', 'http://other/x', 'http://h/api/http://other/x'],
    // Dot segments resolve as in any URL: out of the base's path, never out of its origin.
    ['http://h/api', '/../x', 'http://h/x'],
    ['http://h/api', '/a/./b', 'http://h/api/a/b'],
    // Percent-encoding: what is not allowed is encoded, what is encoded stays.
    ['http://h/api', '/a b?q=c d', 'http://h/api/a%20b?q=c%20d'],
    ['http://h/a%20b', '/x%2Fy', 'http://h/a%20b/x%2Fy'],
    // Credentials and port of the base are kept.
    ['http://u:p@h:81/api', '/healthz', 'http://u:p@h:81/api/healthz'],
    // Edge cases: spaces and controls (a trailing one is encoded, not stripped), backslashes,
    // non-ASCII, encoded dot segments, IPv6 hosts, an upper-case scheme and host.
    ['http://h/api', '/a b ', 'http://h/api/a%20b%20'],
    ['http://h/api', '/a\t', 'http://h/api/a'],
    ['http://h/api', '?q= ', 'http://h/api?q=%20'],
    ['http://h/api', '/x\\y', 'http://h/api/x/y'],
    ['http://h/api', '\\x', 'http://h/api//x'],
    ['http://h/api', '/\u00e9/\u00fc?\u00df=\u00e7', 'http://h/api/%C3%A9/%C3%BC?%C3%9F=%C3%A7'],
    ['http://h/api', '/%2e%2e/x', 'http://h/x'],
    ['http://h/', '/..', 'http://h/'],
    ['http://h', '/a/../../b', 'http://h/b'],
    ['http://h/api', '/a\nb', 'http://h/api/ab'],
    ['http://h/api/', ' /x', 'http://h/api/%20/x'],
    ['http://h/api', '/x?a b#c d', 'http://h/api/x?a%20b'],
    ['http://[::1]:8080/p', '/x', 'http://[::1]:8080/p/x'],
    ['http://h/a/', '.', 'http://h/a/'],
    ['http://h/a', './x', 'http://h/a/x'],
    ['http://h/a', '/x/ ', 'http://h/a/x/%20'],
    ['http://h/a', '/x?', 'http://h/a/x?'],
    ['http://h/a', '?', 'http://h/a?'],
    ['http://h/a', '#f', 'http://h/a'],
    ['http://h/a b', '/c', 'http://h/a%20b/c'],
    ['HTTP://H/A', '/B', 'http://h/A/B'],
  ])('%s + %j → %s', (base, path, expected) => {
    expect(resolveAgainstBase(base, path).href).toBe(expected);
    const parsed = new BaseUrl(base);
    expect(parsed.resolve(path).href).toBe(expected);
    expect(parsed.resolve(path).href).toBe(expected); // the parsed base is not changed
    expect(new BaseUrlCache().resolve(base, path).href).toBe(expected);
    // What fetch is given: a string that parses to the same URL (or that URL).
    expect(new URL(String(parsed.resolveHref(path))).href).toBe(expected);
    expect(new URL(String(new BaseUrlCache().resolveHref(base, path))).href).toBe(expected);
  });

  it('returns a new URL each time', () => {
    const a = resolveAgainstBase('http://h/api', '/x');
    a.pathname = '/changed';
    expect(resolveAgainstBase('http://h/api', '/x').href).toBe('http://h/api/x');
  });

  it.each(['', '/relative', 'h:8080', 'localhost:8080/api', '127.0.0.1:8080', 'mailto:x@h'])(
    'throws a TypeError for base %j',
    (base) => {
      expect(() => resolveAgainstBase(base, '/healthz')).toThrow(TypeError);
    },
  );
});

describe('BaseUrlCache', () => {
  it('parses each base once and resolves against the right one', () => {
    const cache = new BaseUrlCache();
    expect(cache.resolve('http://a/api', '/x?1').href).toBe('http://a/api/x?1');
    expect(cache.resolve('http://b/', '/x').href).toBe('http://b/x');
    expect(cache.resolve('http://a/api', '/y').href).toBe('http://a/api/y');
    expect(cache.size).toBe(2);
  });

  it('starts again from empty past maxEntries, and still resolves', () => {
    const cache = new BaseUrlCache(2);
    for (let i = 0; i < 5; i++) {
      expect(cache.resolve(`http://h${i}/`, '/x').href).toBe(`http://h${i}/x`);
      expect(cache.size).toBeLessThanOrEqual(2);
    }
    expect(cache.resolve('http://h0/', '/x').href).toBe('http://h0/x');
  });

  it('throws the TypeError of a bad base on each use', () => {
    const cache = new BaseUrlCache();
    expect(() => cache.resolve('localhost:8080', '/x')).toThrow(TypeError);
    expect(() => cache.resolve('localhost:8080', '/x')).toThrow(TypeError);
  });
});

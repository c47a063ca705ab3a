import { describe, expect, it } from 'vitest';
import { resolveAgainstBase } from './url.js';

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
  ])('%s + %j → %s', (base, path, expected) => {
    expect(resolveAgainstBase(base, path).href).toBe(expected);
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

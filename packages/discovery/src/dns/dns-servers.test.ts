import { DetourConfigError } from '@detour/core';
import { describe, expect, it } from 'vitest';
import { hostPort, parseServer } from './dns-servers.js';

describe('parseServer', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1', 53, 4, '127.0.0.1:53'],
    ['127.0.0.1:5353', '127.0.0.1', 5353, 4, '127.0.0.1:5353'],
    ['::1', '::1', 53, 6, '[::1]:53'],
    ['[::1]', '::1', 53, 6, '[::1]:53'],
    ['[::1]:53', '::1', 53, 6, '[::1]:53'],
    ['[2001:db8::8]:1053', '2001:db8::8', 1053, 6, '[2001:db8::8]:1053'],
    ['fd00::10', 'fd00::10', 53, 6, '[fd00::10]:53'],
  ])('reads %s', (text, host, port, family, label) => {
    expect(parseServer('servers[0]', text)).toEqual({ host, port, family, label });
  });

  it.each([
    ['', 'must be a non-empty string'],
    ['dns.google', 'must be an IP address'],
    ['dns.google:53', 'must be an IP address'],
    ['[127.0.0.1]:53', 'must be an IP address'],
    ['127.0.0.1:0', 'port that is not from 1 to 65535'],
    ['127.0.0.1:65536', 'port that is not from 1 to 65535'],
    ['127.0.0.1:x', 'port that is not from 1 to 65535'],
    ['[::1]:', 'port that is not from 1 to 65535'],
    ['300.0.0.1', 'must be an IP address'],
  ])('rejects %j', (text, message) => {
    const run = (): unknown => parseServer('servers[1]', text);
    expect(run).toThrow(DetourConfigError);
    expect(run).toThrow(message);
    expect(run).toThrow('servers[1]');
  });

  it('rejects what is not a string', () => {
    expect(() => parseServer('servers[0]', 53)).toThrow('Invalid option servers[0]: 53 must be');
  });
});

describe('hostPort', () => {
  it('puts IPv6 hosts in brackets', () => {
    expect(hostPort('10.0.0.1', 80)).toBe('10.0.0.1:80');
    expect(hostPort('fd00::1', 80)).toBe('[fd00::1]:80');
  });
});

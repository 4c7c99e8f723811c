import { describe, expect, it } from 'vitest';
import { TrustedProxies } from './client-address.js';

const proxies = new TrustedProxies(['10.0.0.0/8', '2001:db8::/32']);

describe('TrustedProxies', () => {
  it('believes no field when no proxy is trusted, or the peer is not one', () => {
    expect(new TrustedProxies([]).clientOf('10.0.0.5', ['x-forwarded-for', '6.6.6.6'])).toBe('10.0.0.5');
    expect(proxies.clientOf('203.0.113.9', ['x-forwarded-for', '6.6.6.6'])).toBe('203.0.113.9');
    expect(proxies.clientOf(undefined, ['x-forwarded-for', '6.6.6.6'])).toBeUndefined();
  });

  it('walks X-Forwarded-For from the right, past trusted proxies, to the nearest address that is not one', () => {
    // The leftmost entry is whatever the client wrote; the trusted proxies appended the rest.
    expect(proxies.clientOf('10.0.0.5', ['x-forwarded-for', '6.6.6.6, 198.51.100.7, 10.0.0.9'])).toBe('198.51.100.7');
    expect(proxies.clientOf('10.0.0.5', ['x-forwarded-for', '6.6.6.6', 'x-forwarded-for', '198.51.100.7'])).toBe('198.51.100.7');
    expect(proxies.clientOf('10.0.0.5', ['x-forwarded-for', '10.1.1.1, 10.2.2.2'])).toBe('10.1.1.1');
  });

  it('stops at an entry that is no address, keeping the last one it could follow', () => {
    expect(proxies.clientOf('10.0.0.5', ['x-forwarded-for', '198.51.100.7, unknown, 10.0.0.9'])).toBe('10.0.0.9');
    expect(proxies.clientOf('10.0.0.5', ['x-forwarded-for', 'garbage'])).toBe('10.0.0.5');
  });

  it('reads bracketed IPv6 and ports, and IPv6 peers', () => {
    expect(proxies.clientOf('2001:db8::1', ['x-forwarded-for', '[2001:db9::7]:443'])).toBe('2001:db9::7');
    expect(proxies.clientOf('10.0.0.5', ['x-forwarded-for', '198.51.100.7:5000'])).toBe('198.51.100.7');
  });

  it('reads Forwarded for= only when there is no X-Forwarded-For', () => {
    expect(proxies.clientOf('10.0.0.5', ['forwarded', 'for=6.6.6.6, for="[2001:db9::7]:4711";proto=https'])).toBe('2001:db9::7');
    expect(proxies.clientOf('10.0.0.5', ['forwarded', 'for=_hidden'])).toBe('10.0.0.5');
    expect(proxies.clientOf('10.0.0.5', ['forwarded', 'for=198.51.100.1', 'x-forwarded-for', '198.51.100.2'])).toBe('198.51.100.2');
  });

  it('refuses an entry that is not an address or CIDR when built', () => {
    expect(() => new TrustedProxies(['10.0.0.0/33'])).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { parseAddress, type Instance } from '../registry/index.js';
import { AddressPolicy } from './address-policy.js';
import { parseRule } from './address-rules.js';
import { inCidr, isLoopback, parseCidr, parseIp, parseIPv4, parseIPv6 } from './ip.js';

/** An instance whose URL is normalized the way the registry decodes it. */
function instance(address: string): Instance {
  const parsed = parseAddress(address);
  if (!parsed.ok) throw new Error(parsed.reason);
  return { service: 's', id: parsed.address.authority, url: parsed.address.url, weight: 1, tags: {}, metadata: undefined, key: `services/s/${parsed.address.authority}`, layout: 'native', revision: 1 };
}

describe('ip literals', () => {
  it('parses dotted quads strictly', () => {
    expect(parseIPv4('10.1.2.3')).toBe(0x0a010203);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIPv4('0.0.0.0')).toBe(0);
    for (const bad of ['10.1.2', '10.1.2.3.4', '010.1.2.3', '256.1.1.1', '1.2.3.-1', '0x7f.0.0.1', '1.2.3.4 ', '']) expect(parseIPv4(bad)).toBeUndefined();
  });

  it('parses IPv6 with :: and dotted tails', () => {
    expect(parseIPv6('::1')).toBe(1n);
    expect(parseIPv6('::')).toBe(0n);
    expect(parseIPv6('fe80::1')).toBe((0xfe80n << 112n) | 1n);
    expect(parseIPv6('2001:db8:0:0:0:0:0:1')).toBe(parseIPv6('2001:db8::1'));
    expect(parseIPv6('::ffff:169.254.169.254')).toBe((0xffffn << 32n) | 0xa9fea9fen);
    expect(parseIPv6('::FFFF:A9FE:A9FE')).toBe(parseIPv6('::ffff:169.254.169.254'));
    for (const bad of ['1::2::3', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2:3:4:5:6:7:8', '12345::', 'g::1', '::1.2.3', '::1.2.3.4:5', '[::1]']) {
      expect(parseIPv6(bad), bad).toBeUndefined();
    }
  });

  it('maps IPv4 into ::ffff:0:0/96 so one rule set covers both, brackets allowed', () => {
    expect(parseIp('169.254.169.254')).toBe(parseIp('::ffff:169.254.169.254'));
    expect(parseIp('[::ffff:a9fe:a9fe]')).toBe(parseIp('169.254.169.254'));
    expect(parseIp('[::1]')).toBe(1n);
    expect(parseIp('example.com')).toBeUndefined();
    expect(parseIp('[example]')).toBeUndefined();
  });

  it('matches CIDRs of either family, masking host bits', () => {
    const net = parseCidr('10.1.2.3/8')!;
    expect(net.bits).toBe(96 + 8);
    expect(inCidr(parseIp('10.200.0.1')!, net)).toBe(true);
    expect(inCidr(parseIp('11.0.0.1')!, net)).toBe(false);
    expect(inCidr(parseIp('[::ffff:10.9.9.9]')!, net)).toBe(true);
    const v6 = parseCidr('fd00::/8')!;
    expect(inCidr(parseIp('[fd12::5]')!, v6)).toBe(true);
    expect(inCidr(parseIp('[fe00::5]')!, v6)).toBe(false);
    expect(inCidr(parseIp('1.2.3.4')!, parseCidr('0.0.0.0/0')!)).toBe(true);
    expect(inCidr(parseIp('[::1]')!, parseCidr('0.0.0.0/0')!)).toBe(false);
    expect(inCidr(parseIp('[::1]')!, parseCidr('::/0')!)).toBe(true);
    expect(parseCidr('10.0.0.1')).toEqual({ base: parseIp('10.0.0.1'), bits: 128 });
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/08', '10.0.0.0/', '10.0.0.0/8/8', 'host/8']) expect(parseCidr(bad), bad).toBeUndefined();
  });

  it('knows loopback in both families', () => {
    for (const ip of ['127.0.0.1', '127.255.0.9', '[::1]', '[::ffff:127.0.0.1]']) expect(isLoopback(parseIp(ip)!), ip).toBe(true);
    for (const ip of ['128.0.0.1', '126.255.255.255', '[::2]', '[::]', '10.0.0.1']) expect(isLoopback(parseIp(ip)!), ip).toBe(false);
  });
});

describe('address rules', () => {
  it('tells CIDRs, hosts and suffix patterns apart, and says what is wrong', () => {
    expect(parseRule('10.0.0.0/8').rule?.kind).toBe('cidr');
    expect(parseRule('Metadata.Google.Internal.').rule).toMatchObject({ kind: 'host', name: 'metadata.google.internal' });
    expect(parseRule('*.Svc.Local').rule).toMatchObject({ kind: 'suffix', suffix: '.svc.local' });
    expect(parseRule('cafe.be').rule?.kind).toBe('host');
    expect(parseRule('10.0.0.256').problem).toMatch(/IP address or CIDR/);
    expect(parseRule('fe80::zz').problem).toBeDefined();
    expect(parseRule('*.-bad').problem).toMatch(/\*\.domain/);
    expect(parseRule('a_b.com').problem).toBeDefined();
  });
});

describe('AddressPolicy', () => {
  const policy = new AddressPolicy();

  it('denies metadata and "this host" addresses by default', () => {
    const denied = [
      'http://169.254.169.254',
      'http://169.254.0.1:8080',
      'http://[::ffff:169.254.169.254]:80',
      'http://[fe80::1]:80',
      'http://[fd00:ec2::254]',
      'http://100.100.100.200',
      'http://metadata.google.internal',
      'http://METADATA.google.internal.:8080',
      'http://metadata',
      'http://instance-data.ec2.internal',
      'http://0.0.0.0:80',
      'http://[::]:80',
      'http://[::ffff:0.0.0.0]:80',
    ];
    for (const url of denied) expect(policy.check(instance(url)), url).toMatch(/^address policy: .* is denied \(/);
    expect(policy.check(instance('http://169.254.169.254'))).toContain('169.254.0.0/16');
  });

  it('denies loopback by default, in every spelling, and says how to allow it', () => {
    const loopback = [
      'http://127.0.0.1:2379',
      'http://127.1.2.3:80',
      'http://[::1]:8787',
      'http://[::ffff:127.0.0.1]:2379',
      'http://[0:0:0:0:0:ffff:7f00:1]:80',
      'http://[64:ff9b::7f00:1]:80',
      'http://localhost:8787',
      'http://LOCALHOST.:8787',
      'http://gw.localhost:80',
    ];
    for (const url of loopback) expect(policy.check(instance(url)), url).toMatch(/is denied \(.*loopback; ETCD_EDGE_ALLOW_LOOPBACK=true allows it for development\)$/);
    expect(policy.checkResolved('127.0.0.1')).toMatch(/resolves to 127\.0\.0\.1, which is denied .*ETCD_EDGE_ALLOW_LOOPBACK/);
    expect(policy.checkResolved('::1')).toBeDefined();
  });

  it('allows loopback when opted in, and still denies metadata', () => {
    const dev = new AddressPolicy({ allowLoopback: true });
    for (const url of ['http://127.0.0.1:8080', 'http://[::1]:80', 'http://localhost:80', 'http://[::ffff:127.0.0.1]:80']) expect(dev.check(instance(url)), url).toBeUndefined();
    expect(dev.checkResolved('127.0.0.1')).toBeUndefined();
    expect(dev.check(instance('http://169.254.169.254'))).toMatch(/is denied/);
  });

  it('allows ordinary addresses by default', () => {
    for (const url of ['http://10.0.0.1:80', 'http://128.0.0.1:8080', 'http://[::2]:80', 'http://localhost.example.com', 'http://[2001:db8::1]:443', 'https://api.example.com', 'http://metadata.example.com', 'http://100.100.100.201']) {
      expect(policy.check(instance(url)), url).toBeUndefined();
    }
  });

  it('refuses URLs without a host', () => {
    const broken = { ...instance('http://a:1'), url: 'unix:/tmp/sock' };
    expect(policy.check(broken)).toBe('address policy: the URL has no host');
  });

  it('adds configured deny rules to the defaults', () => {
    const custom = new AddressPolicy({ deny: ['10.0.0.0/8', '*.internal.example', 'db.example.com'] });
    expect(custom.check(instance('http://10.9.9.9:80'))).toContain('(10.0.0.0/8)');
    expect(custom.check(instance('http://a.b.internal.example'))).toContain('(*.internal.example)');
    expect(custom.check(instance('http://internal.example'))).toBeUndefined();
    expect(custom.check(instance('http://db.example.com'))).toContain('(db.example.com)');
    expect(custom.check(instance('http://169.254.169.254'))).toBeDefined();
    expect(custom.check(instance('http://11.0.0.1'))).toBeUndefined();
  });

  it('with an allow list, admits only what matches, and deny still wins', () => {
    const allowList = new AddressPolicy({ allow: ['10.0.0.0/8', '*.svc.cluster.local', 'api.example.com', '169.254.0.0/16'] });
    expect(allowList.check(instance('http://10.1.2.3:80'))).toBeUndefined();
    expect(allowList.check(instance('http://orders.default.svc.cluster.local:8080'))).toBeUndefined();
    expect(allowList.check(instance('http://API.example.com'))).toBeUndefined();
    expect(allowList.check(instance('http://svc.cluster.local'))).toBe('address policy: svc.cluster.local is not in the allow list');
    expect(allowList.check(instance('http://evilsvc.cluster.local'))).toMatch(/not in the allow list/);
    expect(allowList.check(instance('http://www.api.example.com'))).toMatch(/not in the allow list/);
    expect(allowList.check(instance('http://11.0.0.1'))).toMatch(/not in the allow list/);
    expect(allowList.check(instance('http://[::ffff:10.0.0.1]'))).toBeUndefined();
    expect(allowList.check(instance('http://169.254.169.254'))).toMatch(/is denied/);
  });

  it('a hostname rule never matches an IP and a CIDR never matches a name', () => {
    const allowList = new AddressPolicy({ allow: ['10.0.0.0/8'] });
    expect(allowList.check(instance('http://ten.example'))).toMatch(/not in the allow list/);
  });

  it('in loopback-only mode skips IP literals other than loopback, with a Workers message', () => {
    const workers = new AddressPolicy({ ipLiterals: 'loopback-only', allowLoopback: true });
    expect(workers.check(instance('http://10.0.0.1:8080'))).toBe('address policy: 10.0.0.1 is an IP address, which Workers cannot fetch; register a hostname');
    expect(workers.check(instance('http://[2001:db8::1]:80'))).toMatch(/Workers cannot fetch/);
    expect(workers.check(instance('http://127.0.0.1:8080'))).toBeUndefined();
    expect(workers.check(instance('http://[::1]:8080'))).toBeUndefined();
    expect(workers.check(instance('https://api.example.com'))).toBeUndefined();
    expect(workers.check(instance('http://localhost:8080'))).toBeUndefined();
    expect(workers.check(instance('http://169.254.169.254'))).toMatch(/is denied/);
    expect(new AddressPolicy({ ipLiterals: 'loopback-only' }).check(instance('http://127.0.0.1:8080'))).toMatch(/ETCD_EDGE_ALLOW_LOOPBACK/);
  });

  it('refuses a malformed rule when built', () => {
    expect(() => new AddressPolicy({ allow: ['10.0.0.0/40'] })).toThrow(RangeError);
    expect(() => new AddressPolicy({ deny: ['not a host'] })).toThrow(/not a host/);
  });
});

describe('addresses a hostname resolves to', () => {
  it('are refused when a deny rule covers them, whatever the name', () => {
    const policy = new AddressPolicy({ allow: ['*.example.com'], deny: ['10.9.0.0/16'] });
    expect(policy.checkResolved('169.254.169.254')).toMatch(/resolves to 169\.254\.169\.254, which is denied \(169\.254\.0\.0\/16\)/);
    expect(policy.checkResolved('::ffff:169.254.169.254')).toMatch(/denied/);
    expect(policy.checkResolved('fe80::1')).toMatch(/denied \(fe80::\/10\)/);
    expect(policy.checkResolved('10.9.3.4')).toMatch(/denied \(10\.9\.0\.0\/16\)/);
    expect(policy.checkResolved('0.0.0.0')).toMatch(/denied/);
  });

  it('are let through otherwise, since allow rules were matched by name', () => {
    const policy = new AddressPolicy({ allow: ['*.example.com'] });
    expect(policy.checkResolved('10.1.2.3')).toBeUndefined();
    expect(policy.checkResolved('2001:db8::1')).toBeUndefined();
    expect(policy.checkResolved('not-an-ip')).toMatch(/not an IP address/);
  });
});

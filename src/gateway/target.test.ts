import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isServiceName } from '../registry/index.js';
import { parseTarget, pathOf, splitUrl, zonePicks } from './target.js';

describe('parseTarget', () => {
  it('splits the service from the path to send on', () => {
    expect(parseTarget('/svc/orders')).toEqual({ ok: true, service: 'orders', path: '/' });
    expect(parseTarget('/svc/orders/')).toEqual({ ok: true, service: 'orders', path: '/' });
    expect(parseTarget('/svc/orders/a/b')).toEqual({ ok: true, service: 'orders', path: '/a/b' });
    expect(parseTarget('/svc/Orders-v2.eu_1/a%20b/..c/.d/c..')).toEqual({ ok: true, service: 'Orders-v2.eu_1', path: '/a%20b/..c/.d/c..' });
    expect(parseTarget('/svc/orders//a//')).toEqual({ ok: true, service: 'orders', path: '//a//' });
    expect(parseTarget(`/svc/${'a'.repeat(128)}/x`)).toMatchObject({ ok: true, service: 'a'.repeat(128) });
  });

  it('needs the /svc/ prefix', () => {
    for (const path of ['/svc', '/', '/orders/x', '/SVC/orders', 'svc/orders']) expect(parseTarget(path).ok, path).toBe(false);
  });

  it('refuses names that are not service names', () => {
    const bad = ['', '.', '..', 'a'.repeat(129), '%2e', '%2e%2e', 'or%20ders', 'or+ders', 'örders', '%C3%B6rders', 'a:b', 'a@b', 'a%2fb'];
    for (const name of bad) {
      const target = parseTarget(`/svc/${name}/x`);
      expect(target, name).toEqual({ ok: false, message: expect.stringContaining('service name') });
    }
    expect(parseTarget('/svc/').ok).toBe(false);
    expect(parseTarget('/svc//x').ok).toBe(false);
  });

  it('refuses dot segments, raw or percent-encoded in any case', () => {
    const bad = [
      '/svc/a/../b',
      '/svc/a/./b',
      '/svc/a/..',
      '/svc/a/.',
      '/svc/a/%2e%2e/b',
      '/svc/a/%2E%2E/b',
      '/svc/a/.%2E/b',
      '/svc/a/%2e./b',
      '/svc/a/%2e/b',
      '/svc/a/x/%2e%2e',
      '/svc/a/x/y/../../../other',
    ];
    for (const path of bad) expect(parseTarget(path), path).toEqual({ ok: false, message: expect.stringContaining('dot segments') });
  });

  it('refuses encoded slashes and backslashes, raw backslashes, NUL and control characters', () => {
    for (const path of ['/svc/a/x%2fy', '/svc/a/x%2Fy', '/svc/a/%5c..%5cb', '/svc/a/x%5Cy', '/svc/a/x\\y', '/svc/a\\b', '/svc/a/x%00y', '/svc/a/%00', '/svc/0/\u0000', '/svc/a/x\ty', '/svc/a/\r\n', '/svc/a/\x7f']) {
      expect(parseTarget(path).ok, path).toBe(false);
    }
  });

  it('never throws; when it accepts, the name is valid and the path cannot be read as another one', () => {
    const segment = fc.oneof(
      fc.constantFrom('.', '..', '%2e', '%2E', '.%2e', '%2f', '%5C', '\\', '%00', '', 'a', 'orders', '%252e', '%'),
      fc.string({ maxLength: 8 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
    );
    const tail = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.array(segment, { maxLength: 6 }).map((s) => s.join('/')));
    fc.assert(
      fc.property(tail, (rest) => {
        const target = parseTarget(`/svc/${rest}`);
        if (!target.ok) return;
        expect(isServiceName(target.service)).toBe(true);
        expect(target.path.startsWith('/')).toBe(true);
        expect(`/svc/${target.service}${target.path === '/' && !rest.includes('/') ? '' : target.path}`).toBe(`/svc/${rest}`);
        for (const part of target.path.split('/')) {
          const decoded = decodeOnce(part);
          expect(decoded === '.' || decoded === '..', part).toBe(false);
          expect(/[/\\\0]/.test(decoded), part).toBe(false);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('pathOf', () => {
  it('takes the path of a request-target or URL, without query or fragment', () => {
    expect(pathOf('/svc/a/b?x=1#f')).toBe('/svc/a/b');
    expect(pathOf('http://host:8080/svc/a?x')).toBe('/svc/a');
    expect(pathOf('http://host:8080')).toBe('/');
    expect(pathOf('/a#b?c')).toBe('/a');
  });
});

describe('splitUrl', () => {
  it('gives what URL gives for a request URL, the path and query as sent', () => {
    for (const url of [
      'http://gw.test/svc/a/b?x=1&y=%2F',
      'https://gw.test:8443/svc/a/%2e%2e/b',
      'http://gw.test/',
      'http://gw.test/svc/a?',
      'http://gw.test/svc/a?#frag',
      'http://gw.test/svc/a?q#frag',
      'http://[::1]:8787/svc/a/b/',
    ]) {
      const parsed = new URL(url);
      expect(splitUrl(url), url).toEqual({ proto: parsed.protocol.slice(0, -1), host: parsed.host, path: pathOf(url), query: parsed.search });
    }
    expect(splitUrl('http://gw.test').path).toBe('/');
  });
});

describe('zonePicks', () => {
  it('keeps one pick per zone while the zone stays, with the required tags', () => {
    const pickOf = zonePicks({ tier: 'gold' });
    const dfw = pickOf('DFW');
    expect(dfw).toEqual({ tags: { tier: 'gold' }, zone: 'DFW' });
    expect(pickOf('DFW')).toBe(dfw);
    expect(pickOf('FRA')).toEqual({ tags: { tier: 'gold' }, zone: 'FRA' });
    expect(Object.isFrozen(dfw)).toBe(true);
  });
});

function decodeOnce(text: string): string {
  return text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

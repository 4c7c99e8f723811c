import { describe, expect, it } from 'vitest';
import type { KeyValue } from '../etcd/index.js';
import { decodeRecord } from './decode.js';
import { grpcNamingLayout } from './grpc-naming.js';
import { kitexLayout } from './kitex.js';
import { servesService, type KeyLayout } from './layout.js';
import { layoutByName } from './layouts.js';
import { nativeLayout } from './native.js';

const enc = new TextEncoder();

function kv(key: string | Uint8Array, value: string | Uint8Array, lease = '0'): KeyValue {
  const bytes = (x: string | Uint8Array): Uint8Array => (typeof x === 'string' ? enc.encode(x) : x);
  return { key: bytes(key), value: bytes(value), createRevision: 5, modRevision: 7, version: 1, lease };
}

function decode(layout: KeyLayout, key: string | Uint8Array, value: string) {
  return decodeRecord(layout, kv(key, value, '7587862345'));
}

describe('native layout', () => {
  const native = nativeLayout();

  it('writes the record Go would marshal for naming Update', () => {
    const record = native.encode({ service: 'orders', url: 'http://10.0.0.5:8080', weight: 5, tags: { zone: 'fra', lane: '<b>' }, metadata: { version: 'v2' } });
    expect(record.key).toBe('services/orders/10.0.0.5:8080');
    expect(record.value).toBe(
      '{"Op":0,"Addr":"http://10.0.0.5:8080","Metadata":{"tags":{"lane":"\\u003cb\\u003e","zone":"fra"},"version":"v2","weight":5}}',
    );
  });

  it('reads back what it wrote', () => {
    const record = native.encode({ service: 'orders', url: 'https://[::1]:8443', id: 'pod-1', weight: 0, tags: { zone: 'fra' } });
    expect(record.key).toBe('services/orders/pod-1');
    const decoded = decode(native, record.key, record.value);
    expect(decoded).toEqual({
      ok: true,
      instance: {
        service: 'orders', id: 'pod-1', url: 'https://[::1]:8443', weight: 0, tags: { zone: 'fra' }, metadata: {},
        key: 'services/orders/pod-1', layout: 'native', leaseId: '7587862345', revision: 7,
      },
    });
  });

  it('takes ids with slashes and ignores keys without a service and id', () => {
    expect(decode(native, 'services/orders/a/b', '{"Addr":"1.2.3.4:80"}')).toMatchObject({ ok: true, instance: { id: 'a/b' } });
    expect(decode(native, 'services/orders/', '{"Addr":"1.2.3.4:80"}')).toBeUndefined();
    expect(decode(native, 'services/orders', '{"Addr":"1.2.3.4:80"}')).toBeUndefined();
    expect(decode(native, 'other/orders/a', '{"Addr":"1.2.3.4:80"}')).toBeUndefined();
    expect(decode(native, 'services/bad name/a', '{"Addr":"1.2.3.4:80"}')).toBeUndefined();
  });

  it.each([
    ['not json', 'not valid UTF-8 JSON'],
    ['[1]', 'not a JSON object'],
    ['{"Op":1,"Addr":"1.2.3.4"}', 'Op is 1 (delete)'],
    ['{"Op":"0","Addr":"1.2.3.4"}', 'Op is not 0 or 1'],
    ['{"Metadata":{}}', 'Addr is missing'],
    ['{"Addr":7}', 'Addr is not a string'],
    ['{"Addr":"1.2.3.4","Metadata":{"weight":-1}}', 'negative'],
    ['{"Addr":"1.2.3.4","Metadata":{"weight":1e999}}', 'not finite'],
    ['{"Addr":"1.2.3.4","Metadata":{"weight":"5"}}', 'not a number'],
    ['{"Addr":"1.2.3.4","Metadata":{"weight":2000000}}', 'above'],
    ['{"Addr":"1.2.3.4","Metadata":{"tags":{"a":1}}}', 'Metadata.tags.a is not a string'],
    ['{"Addr":"1.2.3.4","Metadata":{"tags":[]}}', 'Metadata.tags is not an object'],
    ['{"Addr":"user@1.2.3.4"}', 'userinfo'],
    ['{"Addr":"1.2.3.4/../admin"}', 'path'],
  ])('skips %s with a reason', (value, reason) => {
    expect(decode(native, 'services/orders/x', value)).toEqual({
      ok: false,
      skipped: { key: 'services/orders/x', layout: 'native', reason: expect.stringContaining(reason) },
    });
  });

  it('skips keys that are not UTF-8 and values that are too large', () => {
    const key = new Uint8Array([...enc.encode('services/orders/'), 0xff, 0xfe]);
    expect(decodeRecord(native, kv(key, '{"Addr":"1.2.3.4"}'))).toMatchObject({ ok: false, skipped: { reason: 'key is not valid UTF-8', key: 'services/orders/\ufffd\ufffd' } });
    const big = `{"Addr":"1.2.3.4","Metadata":"${'x'.repeat(70_000)}"}`;
    expect(decode(native, 'services/orders/x', big)).toMatchObject({ ok: false, skipped: { reason: expect.stringContaining('above 65536') } });
  });

  it('keeps other metadata and has no lease id for a key without a lease', () => {
    const decoded = decodeRecord(native, kv('services/orders/x', '{"Addr":"1.2.3.4:80","Metadata":{"weight":2.5,"region":"eu"}}'));
    expect(decoded).toMatchObject({ ok: true, instance: { weight: 2.5, metadata: { region: 'eu' }, tags: {} } });
    expect(decoded?.ok && 'leaseId' in decoded.instance).toBe(false);
  });

  it('rejects registrations it cannot store', () => {
    expect(() => native.encode({ service: 'a/b', url: '1.2.3.4:80' })).toThrow(expect.objectContaining({ code: 'INVALID_SERVICE' }));
    expect(() => native.encode({ service: 'a', url: 'http://x@1.2.3.4' })).toThrow(expect.objectContaining({ code: 'INVALID_ADDRESS' }));
    expect(() => native.encode({ service: 'a', url: '1.2.3.4', weight: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_REGISTRATION' }));
    expect(() => native.encode({ service: 'a', url: '1.2.3.4', metadata: { weight: 3 } })).toThrow(/metadata may not set "weight"/);
    expect(() => native.encode({ service: 'a', url: '1.2.3.4', id: 'x\ny' })).toThrow(/instance id/);
    for (const id of ['c\u009b31m', 'a\u200bb', 'evil\u202etxt', 'x\u2066y', '\ufeffid']) expect(() => native.encode({ service: 'a', url: '1.2.3.4', id }), JSON.stringify(id)).toThrow(/instance id/);
    expect(native.encode({ service: 'a', url: '1.2.3.4', id: 'café-1' }).key).toBe('services/a/café-1');
    expect(() => nativeLayout('services')).toThrow(expect.objectContaining({ code: 'INVALID_LAYOUT' }));
  });
});

describe('grpc-naming layout', () => {
  const grpc = grpcNamingLayout();

  it('reads what etcdctl and Go write, with any metadata', () => {
    expect(decode(grpc, 'orders/1.2.3.4', '{"Addr":"1.2.3.4","Metadata":"..."}')).toMatchObject({
      ok: true,
      instance: { service: 'orders', id: '1.2.3.4', url: 'http://1.2.3.4:80', weight: 1, metadata: '...' },
    });
    expect(decode(grpc, 'orders/1.2.3.4:9', '{"Op":0,"Addr":"1.2.3.4:9","Metadata":null}')).toMatchObject({ ok: true, instance: { weight: 1, metadata: null } });
    expect(decode(grpc, 'orders/1.2.3.4:9', '{"Addr":"1.2.3.4:9","Metadata":{"weight":3}}')).toMatchObject({ ok: true, instance: { weight: 3 } });
    expect(decode(grpc, 'orders/1.2.3.4:9', '{"Addr":"1.2.3.4:9","Metadata":[1]}')).toMatchObject({ ok: true, instance: { weight: 1 } });
  });

  it('reads foreign metadata leniently: a weight that is not a number is 1, tags that are not strings are none', () => {
    expect(decode(grpc, 'orders/a', '{"Addr":"1.2.3.4:9","Metadata":{"weight":"5","tags":"x"}}')).toMatchObject({
      ok: true,
      instance: { weight: 1, tags: {} },
    });
    expect(decode(grpc, 'orders/a', '{"Addr":"1.2.3.4:9","Metadata":{"weight":-5}}')).toMatchObject({ ok: false });
    expect(decode(nativeLayout(), 'services/orders/a', '{"Addr":"1.2.3.4:9","Metadata":{"weight":"5"}}')).toMatchObject({ ok: false });
  });

  it('writes host:port for http, and the URL for https', () => {
    expect(grpc.encode({ service: 'orders', url: 'http://1.2.3.4:9000' })).toEqual({
      key: 'orders/1.2.3.4:9000',
      value: '{"Op":0,"Addr":"1.2.3.4:9000","Metadata":{"weight":1}}',
      id: '1.2.3.4:9000',
    });
    expect(grpc.encode({ service: 'orders', url: 'https://api.internal' }).value).toContain('"Addr":"https://api.internal:443"');
  });
});

describe('kitex layout', () => {
  const kitex = kitexLayout();

  it('writes the instanceInfo record Kitex marshals', () => {
    expect(kitex.encode({ service: 'echo', url: '10.0.0.5:8888', weight: 10 })).toEqual({
      key: 'kitex/registry-etcd/echo/10.0.0.5:8888',
      value: '{"network":"tcp","address":"10.0.0.5:8888","weight":10,"tags":null}',
      id: '10.0.0.5:8888',
    });
    expect(kitex.encode({ service: 'echo', url: '10.0.0.5:8888', tags: { b: '2', a: '1' } }).value).toBe(
      '{"network":"tcp","address":"10.0.0.5:8888","weight":1,"tags":{"a":"1","b":"2"}}',
    );
  });

  it('reads weight <= 0 or missing as 10, as Kitex does', () => {
    for (const weight of ['0', '-3', undefined]) {
      const value = `{"network":"tcp","address":"10.0.0.5:8888"${weight === undefined ? '' : `,"weight":${weight}`},"tags":null}`;
      expect(decode(kitex, 'kitex/registry-etcd/echo/10.0.0.5:8888', value)).toMatchObject({ ok: true, instance: { weight: 10, tags: {} } });
    }
  });

  it('skips other networks and bad fields, and refuses what Kitex cannot carry', () => {
    expect(decode(kitex, 'kitex/registry-etcd/echo/x', '{"network":"unix","address":"/tmp/s"}')).toMatchObject({ ok: false });
    expect(decode(kitex, 'kitex/registry-etcd/echo/x', '{"address":"1.2.3.4:1","weight":"x"}')).toMatchObject({ ok: false });
    expect(decode(kitex, 'kitex/registry-etcd/echo/x', '{"address":"1.2.3.4:1","tags":{"a":null}}')).toMatchObject({ ok: false });
    expect(() => kitex.encode({ service: 'echo', url: 'https://a:1' })).toThrow(/https/);
    expect(() => kitex.encode({ service: 'echo', url: 'a:1', weight: 0 })).toThrow(/weight 0/);
  });
});

describe('servesService', () => {
  it('keeps a rootless layout out of the other layouts\' trees', () => {
    const layouts = [nativeLayout(), grpcNamingLayout(), kitexLayout()];
    const [native, grpc, kitex] = layouts as [KeyLayout, KeyLayout, KeyLayout];
    expect(servesService(grpc, 'orders', layouts)).toBe(true);
    expect(servesService(grpc, 'services', layouts)).toBe(false);
    expect(servesService(grpc, 'kitex', layouts)).toBe(false);
    expect(servesService(grpc, 'services', [grpc])).toBe(true);
    expect(servesService(native, 'kitex', layouts)).toBe(true);
    expect(servesService(kitex, 'services', layouts)).toBe(true);
    expect(servesService(nativeLayout('a/'), 'b', [nativeLayout('a/'), kitexLayout('a/b/')])).toBe(false);
  });
});

describe('layoutByName', () => {
  it('builds each layout and names the valid ones on a bad name', () => {
    expect(layoutByName('kitex', { kitexPrefix: 'k/' }).servicePrefix('a')).toBe('k/a/');
    expect(layoutByName('native', { nativePrefix: 'reg/' }).root).toBe('reg/');
    expect(layoutByName('grpc-naming').root).toBeUndefined();
    expect(() => layoutByName('consul')).toThrow('unknown layout "consul": use native, grpc-naming, kitex');
  });
});

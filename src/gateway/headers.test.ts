import { describe, expect, it } from 'vitest';
import { fieldsOf, headersOf } from './fields.js';
import * as fieldLists from './headers.js';
import type { ClientSide } from './headers.js';

// The functions work on flat field lists; these read as Headers in and out.
const endToEnd = (h: Headers, skip?: ReadonlySet<string>) => headersOf(fieldLists.endToEnd(fieldsOf(h), skip));
const upstreamRequestHeaders = (h: Headers, c: ClientSide) => headersOf(fieldLists.upstreamRequestHeaders(fieldsOf(h), c));
const VIA = '1.1 etcd-edge-d1';
const downstreamResponseHeaders = (h: Headers, id: string, timing: string) => headersOf(fieldLists.downstreamResponseHeaders(fieldsOf(h), id, timing, VIA));
const requestIdOf = (h: Headers) => fieldLists.requestIdOf(fieldsOf(h));

const HOP_BY_HOP = {
  connection: 'keep-alive',
  'keep-alive': 'timeout=5',
  'proxy-connection': 'keep-alive',
  te: 'trailers',
  'transfer-encoding': 'chunked',
  upgrade: 'websocket',
  'proxy-authorization': 'Basic eDp5',
  'proxy-authenticate': 'Basic',
  trailer: 'x-checksum',
  expect: '100-continue',
};

const client: ClientSide = { ip: '203.0.113.9', proto: 'https', host: 'edge.example.com', requestId: 'req-1', via: VIA, trusted: false };

describe('endToEnd', () => {
  it('drops every hop-by-hop field and keeps the rest', () => {
    const out = endToEnd(new Headers({ ...HOP_BY_HOP, 'content-type': 'text/plain', accept: '*/*', 'x-custom': 'v' }));
    expect([...out.keys()].sort()).toEqual(['accept', 'content-type', 'x-custom']);
  });

  it('drops the fields Connection names, whatever the list looks like', () => {
    const source = new Headers({
      connection: 'x-forwarded-for, HOST, content-length, , ,,X-Foo ,\tx-bar',
      'x-forwarded-for': '1.1.1.1',
      'content-length': '3',
      'x-foo': '1',
      'x-bar': '2',
      'x-baz': '3',
    });
    expect([...endToEnd(source).keys()]).toEqual(['x-baz']);
  });

  it('survives a Connection value of only separators', () => {
    expect([...endToEnd(new Headers({ connection: ', ,,', 'x-a': '1' })).keys()]).toEqual(['x-a']);
  });

  it('leaves out the extra names it is given, and keeps repeated fields', () => {
    const source = new Headers([
      ['host', 'a'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    const out = endToEnd(source, new Set(['host']));
    expect(out.has('host')).toBe(false);
    expect(out.getSetCookie()).toEqual(['a=1', 'b=2']);
  });
});

describe('upstreamRequestHeaders', () => {
  it('appends the client to X-Forwarded-For, sets proto and host, adds Forwarded and Via', () => {
    const incoming = new Headers({ 'x-forwarded-for': '198.51.100.1, 10.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'spoofed', via: '1.0 cdn', host: 'edge.example.com' });
    const out = upstreamRequestHeaders(incoming, client);
    expect(out.get('x-forwarded-for')).toBe('198.51.100.1, 10.0.0.1, 203.0.113.9');
    expect(out.get('x-forwarded-proto')).toBe('https');
    expect(out.get('x-forwarded-host')).toBe('edge.example.com');
    expect(out.get('forwarded')).toBe('for=203.0.113.9;host=edge.example.com;proto=https');
    expect(out.get('via')).toBe('1.0 cdn, 1.1 etcd-edge-d1');
    expect(out.get('x-request-id')).toBe('req-1');
    expect(out.has('host')).toBe(false);
  });

  it('starts X-Forwarded-For when there is none, and leaves it alone without a client address', () => {
    expect(upstreamRequestHeaders(new Headers(), client).get('x-forwarded-for')).toBe('203.0.113.9');
    // A load balancer in front already appended the same address: not twice.
    const fromAlb = new Headers({ 'x-forwarded-for': '198.51.100.1, 203.0.113.9' });
    expect(upstreamRequestHeaders(fromAlb, client).get('x-forwarded-for')).toBe('198.51.100.1, 203.0.113.9');
    const anonymous = upstreamRequestHeaders(new Headers({ 'x-forwarded-for': '1.2.3.4' }), { ...client, ip: undefined });
    expect(anonymous.get('x-forwarded-for')).toBe('1.2.3.4');
    expect(anonymous.get('forwarded')).toBe('host=edge.example.com;proto=https');
  });

  it('quotes an IPv6 client and a host with a port in Forwarded, appending to a prior element', () => {
    const out = upstreamRequestHeaders(new Headers({ forwarded: 'for=198.51.100.1' }), { ...client, ip: '2001:db8::7', host: 'edge.example.com:8443' });
    expect(out.get('forwarded')).toBe('for=198.51.100.1, for="[2001:db8::7]";host="edge.example.com:8443";proto=https');
    expect(out.get('x-forwarded-for')).toBe('2001:db8::7');
  });

  it('strips hop-by-hop fields and those Connection names, then adds the trail even if Connection named it', () => {
    const incoming = new Headers({ ...HOP_BY_HOP, connection: 'x-forwarded-for, host, content-length, , ,,X-Foo, via, x-request-id', 'x-forwarded-for': '6.6.6.6', 'content-length': '5', 'x-foo': 'f', 'x-request-id': 'client-id' });
    const out = upstreamRequestHeaders(incoming, client);
    for (const name of [...Object.keys(HOP_BY_HOP), 'host', 'content-length', 'x-foo']) expect(out.has(name), name).toBe(false);
    expect(out.get('x-forwarded-for')).toBe('203.0.113.9');
    expect(out.get('via')).toBe('1.1 etcd-edge-d1');
    expect(out.get('x-request-id')).toBe('req-1');
  });

  it('drops client-address fields unless the peer is a trusted proxy', () => {
    const incoming = new Headers({ 'x-real-ip': '6.6.6.6', 'true-client-ip': '6.6.6.6', 'cf-connecting-ip': '6.6.6.6', accept: '*/*' });
    const dropped = upstreamRequestHeaders(incoming, client);
    for (const name of ['x-real-ip', 'true-client-ip', 'cf-connecting-ip']) expect(dropped.has(name), name).toBe(false);
    expect(dropped.get('accept')).toBe('*/*');
    const kept = upstreamRequestHeaders(incoming, { ...client, trusted: true });
    for (const name of ['x-real-ip', 'true-client-ip', 'cf-connecting-ip']) expect(kept.get(name), name).toBe('6.6.6.6');
  });

  it("keeps a trusted proxy's X-Forwarded-Proto and -Host (it ended TLS), and replaces anyone else's", () => {
    const incoming = new Headers({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example.com' });
    const trusted = upstreamRequestHeaders(incoming, { ...client, proto: 'http', host: 'edge.internal', trusted: true });
    expect(trusted.get('x-forwarded-proto')).toBe('https');
    expect(trusted.get('x-forwarded-host')).toBe('shop.example.com');
    const other = upstreamRequestHeaders(incoming, { ...client, proto: 'http', host: 'edge.internal' });
    expect(other.get('x-forwarded-proto')).toBe('http');
    expect(other.get('x-forwarded-host')).toBe('edge.internal');
  });

  it('passes traceparent, tracestate, authorization and the body fields through', () => {
    const incoming = new Headers({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'a=b', authorization: 'Bearer t', 'content-type': 'application/json', 'content-length': '2' });
    const out = upstreamRequestHeaders(incoming, client);
    for (const [name, value] of incoming) expect(out.get(name), name).toBe(value);
  });
});

describe('passesThrough', () => {
  it("counts this deployment's entries in Via, and only its own", () => {
    expect(fieldLists.viaEntry('d1')).toBe(VIA);
    expect(fieldLists.passesThrough('1.1 etcd-edge-d1', VIA)).toBe(1);
    expect(fieldLists.passesThrough('1.0 cdn, 1.1 etcd-edge-d1,1.1  etcd-edge-d1 (edge), HTTP/1.1 etcd-edge-d1', VIA)).toBe(3);
    expect(fieldLists.passesThrough('1.1 etcd-edge-d2, 1.1 etcd-edge, 1.1 etcd-edge-d1x, etcd-edge-d1', VIA)).toBe(0);
  });
});

describe('requestIdOf', () => {
  it('keeps a sane id', () => {
    expect(requestIdOf(new Headers({ 'x-request-id': 'abc-123_XYZ:1' }))).toBe('abc-123_XYZ:1');
    expect(requestIdOf(new Headers({ 'x-request-id': 'a'.repeat(200) }))).toBe('a'.repeat(200));
  });

  it('makes one when it is absent, too long, or has spaces or control characters', () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const given of [undefined, '', 'a'.repeat(201), 'has space', 'tab\there', 'bell\x07', 'del\x7f', 'é']) {
      const headers = new Headers();
      if (given !== undefined) headers.set('x-request-id', given);
      const id = requestIdOf(headers);
      expect(id, String(given)).toMatch(uuid);
    }
    expect(requestIdOf(new Headers())).not.toBe(requestIdOf(new Headers()));
  });
});

describe('downstreamResponseHeaders', () => {
  it('drops hop-by-hop fields of the answer and adds Via, the request id and Server-Timing', () => {
    const upstream = new Headers({ ...HOP_BY_HOP, connection: 'close, x-internal', 'x-internal': 'secret', 'content-type': 'text/html', 'server-timing': 'db;dur=3', via: '1.1 app' });
    const out = downstreamResponseHeaders(upstream, 'req-9', 'discovery;dur=1.000, upstream;dur=2.000');
    for (const name of [...Object.keys(HOP_BY_HOP), 'x-internal']) expect(out.has(name), name).toBe(false);
    expect(out.get('content-type')).toBe('text/html');
    expect(out.get('via')).toBe('1.1 app, 1.1 etcd-edge-d1');
    expect(out.get('x-request-id')).toBe('req-9');
    expect(out.get('server-timing')).toBe('db;dur=3, discovery;dur=1.000, upstream;dur=2.000');
  });

  it('reads each answer by its own Connection field, one after another (the last one is remembered)', () => {
    const first = downstreamResponseHeaders(new Headers({ connection: 'x-a', 'x-a': '1', 'x-b': '2' }), 'r', 't');
    const second = downstreamResponseHeaders(new Headers({ connection: 'x-b', 'x-a': '1', 'x-b': '2' }), 'r', 't');
    const again = downstreamResponseHeaders(new Headers({ connection: 'x-b', 'x-a': '1', 'x-b': '2' }), 'r', 't');
    expect([first.has('x-a'), first.has('x-b')]).toEqual([false, true]);
    expect([second.has('x-a'), second.has('x-b')]).toEqual([true, false]);
    expect([again.has('x-a'), again.has('x-b')]).toEqual([true, false]);
  });

  it("keeps the instance's own request id", () => {
    expect(downstreamResponseHeaders(new Headers({ 'x-request-id': 'from-app' }), 'req-9', 't').get('x-request-id')).toBe('from-app');
  });
});

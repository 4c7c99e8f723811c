import { Code, ConnectError, createClient, type CallOptions, type Transport } from '@connectrpc/connect';
import { createGrpcWebTransport as createNodeTransport } from '@connectrpc/connect-node';
import { createGrpcWebTransport as createFetchTransport } from '@connectrpc/connect-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../src/index.js';
import { echoService } from './support/echo-service.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { EchoClient, GrpcBackend, type EchoMessage } from './support/grpc-backend.js';
import { startServeProcess } from './support/node-gateway.js';

/**
 * gRPC-Web through `etcd-edge serve` with Connect's gRPC-Web transports (a
 * client nobody here wrote, speaking the wire format browsers use): over
 * fetch as in a browser, and over Node's HTTP/1.1 and HTTP/2. The instances
 * are grpc-js servers that speak only gRPC; the gateway translates.
 */
const ORIGIN = 'https://app.example.com';
const Echo = echoService();

let cluster: EtcdCluster;
let etcd: EtcdClient;
let named: GrpcBackend;
let other: GrpcBackend;
/** The gateway with ETCD_EDGE_CORS_ORIGINS unset, and one that allows ORIGIN. */
let plainUrl: string;
let corsUrl: string;
const stops: (() => Promise<void>)[] = [];

async function register(service: string, backend: GrpcBackend): Promise<void> {
  const record = nativeLayout().encode({ service, url: backend.url, weight: 1, tags: {} });
  await etcd.put(record.key, record.value);
}

async function serve(env: Record<string, string> = {}): Promise<string> {
  const gateway = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_ALLOW_LOOPBACK: 'true', ...env });
  stops.push(() => gateway.close());
  return gateway.url;
}

const transports: Record<string, (baseUrl: string) => Transport> = {
  'fetch (as a browser)': (baseUrl) => createFetchTransport({ baseUrl }),
  'Node HTTP/1.1': (baseUrl) => createNodeTransport({ baseUrl, httpVersion: '1.1' }),
  'Node HTTP/2': (baseUrl) => createNodeTransport({ baseUrl, httpVersion: '2' }),
};

/** The calls of `edge.test.Echo` used here, typed: the service is described at run time, so its client's types cannot name the methods. */
interface EchoCalls {
  unary(request: EchoMessage, options?: CallOptions): Promise<EchoMessage>;
  serverStream(request: EchoMessage, options?: CallOptions): AsyncIterable<EchoMessage>;
}

function echo(transport: Transport): EchoCalls {
  return createClient(Echo, transport) as unknown as EchoCalls;
}

/** What the call threw, as Connect reports it. */
async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error('the call succeeded');
}

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
  [named, other] = await Promise.all([GrpcBackend.start('named'), GrpcBackend.start('other')]);
  await register('edge.test.Echo', named);
  await register('echo-by-header', other);
  [plainUrl, corsUrl] = await Promise.all([serve(), serve({ ETCD_EDGE_CORS_ORIGINS: `${ORIGIN}, https://other.example.com` })]);
});

afterAll(async () => {
  for (const stop of stops.splice(0)) await stop();
  named?.kill();
  other?.kill();
  await cluster?.close();
});

describe.each(Object.entries(transports))('gRPC-Web through etcd-edge serve: Connect over %s', (_, transportOf) => {
  it('unary: translated to gRPC for the instance, routed as gRPC is, the forwarding trail as metadata', async () => {
    const reply = await echo(transportOf(plainUrl)).unary({ text: 'hi' });
    expect([reply.text, reply.instance]).toEqual(['hi', 'named']);
    expect(reply.seen?.via).toMatch(/etcd-edge/);
    const byHeader = await echo(transportOf(plainUrl)).unary({ text: 'h' }, { headers: { 'x-edge-service': 'echo-by-header' } });
    expect(byHeader.instance).toBe('other');
    const prefixed = await echo(transportOf(`${plainUrl}/svc/echo-by-header`)).unary({ text: 'p' });
    expect(prefixed.instance).toBe('other');
  });

  it('server streaming streams: messages arrive while the instance is still sending', async () => {
    const texts: string[] = [];
    for await (const message of echo(transportOf(plainUrl)).serverStream({ text: 'm', count: 4 })) texts.push(message.text!);
    expect(texts).toEqual(['m0', 'm1', 'm2', 'm3']);
    // `forever` never ends: a gateway that buffered the answer would give the client nothing.
    const abort = new AbortController();
    let received = 0;
    for await (const _ of echo(transportOf(plainUrl)).serverStream({ text: 'forever' }, { signal: abort.signal })) {
      if (++received === 3) break;
    }
    abort.abort();
    expect(received).toBe(3);
  });

  it("the instance's status and message reach the client; no instance is UNAVAILABLE", async () => {
    const error = await failure(echo(transportOf(plainUrl)).unary({ text: 'fail' }));
    expect([error.code, error.rawMessage]).toEqual([Code.NotFound, 'no such thing, said the instance']);
    const none = await failure(echo(transportOf(plainUrl)).unary({ text: 'x' }, { headers: { 'x-edge-service': 'nobody-registered' } }));
    expect([none.code, none.rawMessage]).toEqual([Code.Unavailable, expect.stringMatching(/no instance/)]);
  });
});

describe('gRPC-Web on the wire (raw fetch)', () => {
  it('application/grpc-web-text: the body base64 both ways, the trailers as the last frame', async () => {
    const response = await fetch(`${plainUrl}/edge.test.Echo/Unary`, { method: 'POST', headers: { 'content-type': 'application/grpc-web-text', 'x-grpc-web': '1' }, body: frame(0, request({ text: 'b64' })).toString('base64') });
    expect([response.status, response.headers.get('content-type')]).toEqual([200, 'application/grpc-web-text+proto']);
    const frames = framesOf(Buffer.from(await response.text(), 'base64'));
    expect(frames.map((f) => f.flag)).toEqual([0, 0x80]);
    expect(EchoClient.service.Unary!.responseDeserialize(frames[0]!.data) as EchoMessage).toMatchObject({ text: 'b64', instance: 'named' });
    expect(frames[1]!.data.toString()).toMatch(/^grpc-status: 0\r\n/);
  });

  it('the gateway’s own error: HTTP 200, the status in the headers (trailers-only), no JSON', async () => {
    const response = await fetch(`${plainUrl}/edge.test.Nowhere/Unary`, { method: 'POST', headers: { 'content-type': 'application/grpc-web+proto' }, body: new Uint8Array(frame(0, request({ text: 'x' }))) });
    expect([response.status, response.headers.get('content-type'), response.headers.get('grpc-status')]).toEqual([200, 'application/grpc-web+proto', '14']);
    expect(await response.text()).toBe('');
    // Without ETCD_EDGE_CORS_ORIGINS the gateway adds no CORS fields.
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS for gRPC-Web (ETCD_EDGE_CORS_ORIGINS)', () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-grpc-web,x-user-agent' } });

  it('a preflight is answered at the gateway, for an allowed origin only', async () => {
    for (const path of ['/edge.test.Echo/Unary', '/svc/echo-by-header/edge.test.Echo/Unary']) {
      const allowed = await preflight(`${corsUrl}${path}`, ORIGIN);
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(allowed.headers.get('access-control-allow-methods')).toBe('POST');
      expect(allowed.headers.get('access-control-allow-headers')).toMatch(/content-type, x-grpc-web, x-user-agent, grpc-timeout.*authorization, x-edge-service/);
      expect(Number(allowed.headers.get('access-control-max-age'))).toBeGreaterThan(0);
      const refused = await preflight(`${corsUrl}${path}`, 'https://evil.example.com');
      expect([refused.status, refused.headers.get('access-control-allow-origin')]).toEqual([204, null]);
    }
    expect(named.calls + other.calls).toBeGreaterThan(0);
  });

  it("answers name the allowed origin and expose gRPC's status fields, to calls and errors alike", async () => {
    for (const path of ['/edge.test.Echo/Unary', '/edge.test.Nowhere/Unary']) {
      const response = await fetch(`${corsUrl}${path}`, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' }, body: new Uint8Array(frame(0, request({ text: 'c' }))) });
      await response.arrayBuffer();
      expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(response.headers.get('access-control-expose-headers')).toMatch(/^grpc-status, grpc-message, grpc-status-details-bin/);
    }
  });
});

function request(message: EchoMessage): Buffer {
  return EchoClient.service.Unary!.requestSerialize(message);
}

/** One gRPC(-Web) frame: flag, 4-byte length, bytes. */
function frame(flag: number, bytes: Buffer): Buffer {
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = flag;
  out.writeUInt32BE(bytes.length, 1);
  bytes.copy(out, 5);
  return out;
}

function framesOf(body: Buffer): { flag: number; data: Buffer }[] {
  const frames: { flag: number; data: Buffer }[] = [];
  for (let at = 0; at < body.length; ) {
    const length = body.readUInt32BE(at + 1);
    frames.push({ flag: body[at]!, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return frames;
}

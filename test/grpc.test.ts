import { connect } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, grpcNamingLayout, nativeLayout } from '../src/index.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { EchoClient, GrpcBackend, type EchoMessage } from './support/grpc-backend.js';
import { startServeProcess } from './support/node-gateway.js';

let cluster: EtcdCluster;
let etcd: EtcdClient;
/** Registered as `edge.test.Echo` (native layout, `http://127.0.0.1:port`). */
let named: GrpcBackend;
/** Registered as `echo-by-header` (native) and `echo-mapped` (gRPC naming, bare `127.0.0.1:port`). */
let other: GrpcBackend;
let gatewayUrl: string;
const backends: GrpcBackend[] = [];
const clients: grpc.Client[] = [];
const stops: (() => Promise<void>)[] = [];

async function register(layout: 'native' | 'grpc-naming', service: string, backend: GrpcBackend): Promise<void> {
  const record = (layout === 'native' ? nativeLayout() : grpcNamingLayout()).encode({ service, url: backend.url, weight: 1, tags: {} });
  await etcd.put(record.key, record.value);
}

async function serve(env: Record<string, string> = {}): Promise<string> {
  const gateway = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_ALLOW_LOOPBACK: 'true', ETCD_EDGE_LAYOUTS: 'native,grpc-naming', ...env });
  stops.push(() => gateway.close());
  return gateway.url;
}

/** A grpc-js client of `edge.test.Echo` through the gateway (h2c). */
function client(url = gatewayUrl): grpc.Client & Record<string, (...args: unknown[]) => unknown> {
  const made = new EchoClient(new URL(url).host, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  clients.push(made);
  return made;
}

function unary(echo: ReturnType<typeof client>, message: EchoMessage, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<EchoMessage> {
  return new Promise((resolve, reject) => {
    echo.Unary!(message, metadata, options, (error: grpc.ServiceError | null, reply: EchoMessage) => (error ? reject(error) : resolve(reply)));
  });
}

/** The call's status, when it ends with one. */
function failure(call: Promise<unknown>): Promise<grpc.ServiceError> {
  return call.then(
    () => Promise.reject(new Error('the call succeeded')),
    (error: grpc.ServiceError) => error,
  );
}

beforeAll(async () => {
  cluster = await startEtcd();
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
  [named, other] = await Promise.all([GrpcBackend.start('named'), GrpcBackend.start('other')]);
  backends.push(named, other);
  await register('native', 'edge.test.Echo', named);
  await register('native', 'echo-by-header', other);
  await register('grpc-naming', 'echo-mapped', other);
  gatewayUrl = await serve();
});

afterAll(async () => {
  for (const made of clients.splice(0)) made.close();
  for (const stop of stops.splice(0)) await stop();
  for (const backend of backends) backend.kill();
  await cluster?.close();
});

describe('gRPC through etcd-edge serve (grpc-js client and server)', () => {
  it('unary: /{pkg.Service}/{Method} goes to the registry service named pkg.Service, with the forwarding trail as metadata', async () => {
    const reply = await unary(client(), { text: 'hi' });
    expect(reply.text).toBe('hi');
    expect(reply.instance).toBe('named');
    expect(reply.seen?.via).toMatch(/etcd-edge/);
    expect(reply.seen?.['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('server streaming, client streaming and bidi', async () => {
    const echo = client();
    const streamed = await new Promise<string[]>((resolve, reject) => {
      const texts: string[] = [];
      const call = echo.ServerStream!({ text: 'm', count: 5 }) as grpc.ClientReadableStream<EchoMessage>;
      call.on('data', (message: EchoMessage) => texts.push(message.text!)).on('end', () => resolve(texts)).on('error', reject);
    });
    expect(streamed).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const collected = await new Promise<EchoMessage>((resolve, reject) => {
      const call = echo.ClientStream!((error: grpc.ServiceError | null, reply: EchoMessage) => (error ? reject(error) : resolve(reply))) as grpc.ClientWritableStream<EchoMessage>;
      for (const text of ['a', 'b', 'c']) call.write({ text });
      call.end();
    });
    expect([collected.text, collected.count]).toEqual(['a,b,c', 3]);
    const echoed = await new Promise<string[]>((resolve, reject) => {
      const texts: string[] = [];
      const call = echo.Bidi!() as grpc.ClientDuplexStream<EchoMessage, EchoMessage>;
      call.on('data', (message: EchoMessage) => {
        texts.push(message.text!);
        // Each answer comes before the next message is sent: the stream really is two-way through the gateway.
        if (texts.length < 3) call.write({ text: String(texts.length) });
        else call.end();
      });
      call.on('end', () => resolve(texts)).on('error', reject);
      call.write({ text: '0' });
    });
    expect(echoed).toEqual(['echo:0', 'echo:1', 'echo:2']);
  });

  it("passes the instance's status and message through", async () => {
    const error = await failure(unary(client(), { text: 'fail' }));
    expect(error.code).toBe(grpc.status.NOT_FOUND);
    expect(error.details).toBe('no such thing, said the instance');
  });

  it('a deadline ends the call with DEADLINE_EXCEEDED: the client’s own, and the gateway’s from grpc-timeout', async () => {
    const error = await failure(unary(client(), { text: 'sleep:3000' }, new grpc.Metadata(), { deadline: Date.now() + 300 }));
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // A client that never cancels: the gateway answers the status itself once grpc-timeout passes.
    const started = Date.now();
    const trailers = await rawCall('/edge.test.Echo/Unary', { 'grpc-timeout': '300m' }, encodeMessage({ text: 'sleep:3000' }));
    expect(trailers['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('no instance: UNAVAILABLE with a message, on HTTP 200, never a JSON body', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-edge-service', 'nobody-registered');
    const error = await failure(unary(client(), { text: 'x' }, metadata));
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toMatch(/no instance/);
    const raw = await rawCall('/edge.test.Nowhere/Unary', {}, encodeMessage({ text: 'x' }));
    expect([raw[':status'], raw['content-type'], raw['grpc-status'], raw.body]).toEqual(['200', 'application/grpc', '14', '']);
  });

  it('x-edge-service, ETCD_EDGE_GRPC_SERVICES (to a bare host:port grpc-naming record) and /svc/{service}/ route elsewhere', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-edge-service', 'echo-by-header');
    expect((await unary(client(), { text: 'h' }, metadata)).instance).toBe('other');
    const mappedUrl = await serve({ ETCD_EDGE_GRPC_SERVICES: 'edge.test.Echo=echo-mapped' });
    expect((await unary(client(mappedUrl), { text: 'm' })).instance).toBe('other');
    const prefixed = await new Promise<EchoMessage>((resolve, reject) => {
      const method = EchoClient.service.Unary!;
      client().makeUnaryRequest('/svc/echo-mapped/edge.test.Echo/Unary', method.requestSerialize, method.responseDeserialize as (bytes: Buffer) => EchoMessage, { text: 'p' }, (error, reply) => (error ? reject(error) : resolve(reply!)));
    });
    expect([prefixed.text, prefixed.instance]).toEqual(['p', 'other']);
  });

  it('an instance that refuses connections is passed over: the call goes to another (nothing was sent)', async () => {
    const dead = await GrpcBackend.start('dead');
    dead.kill();
    await register('native', 'echo-half-dead', dead);
    await register('native', 'echo-half-dead', other);
    const metadata = new grpc.Metadata();
    metadata.set('x-edge-service', 'echo-half-dead');
    const echo = client();
    for (let i = 0; i < 6; i++) expect((await unary(echo, { text: String(i) }, metadata)).instance).toBe('other');
  });

  it('an instance killed mid-stream: the client gets a status promptly, never a hang', async () => {
    const doomed = await GrpcBackend.start('doomed');
    backends.push(doomed);
    await register('native', 'echo-doomed', doomed);
    const metadata = new grpc.Metadata();
    metadata.set('x-edge-service', 'echo-doomed');
    const call = client().ServerStream!({ text: 'forever' }, metadata) as grpc.ClientReadableStream<EchoMessage>;
    let received = 0;
    let killedAt = 0;
    const ended = new Promise<grpc.ServiceError>((resolve) => {
      call.on('data', () => {
        if (++received === 3) {
          killedAt = Date.now();
          doomed.kill();
        }
      });
      call.on('error', resolve);
      call.on('end', () => resolve(Object.assign(new Error('ended without a status'), { code: -1 }) as unknown as grpc.ServiceError));
    });
    const error = await ended;
    expect([grpc.status.UNAVAILABLE, grpc.status.INTERNAL]).toContain(error.code);
    expect(Date.now() - killedAt).toBeLessThan(3_000);
  });

  it('a gRPC call over HTTP/1.1 is refused with a clear error', async () => {
    for (const path of ['/edge.test.Echo/Unary', '/svc/echo-by-header/edge.test.Echo/Unary']) {
      const response = await fetch(`${gatewayUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/grpc' }, body: new Uint8Array(encodeMessage({ text: 'x' })) });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/gRPC needs HTTP\/2/);
    }
    expect(named.calls + other.calls).toBeGreaterThan(0);
  });
});

/** One gRPC message, length-prefixed. */
function encodeMessage(message: EchoMessage): Buffer {
  const bytes = EchoClient.service.Unary!.requestSerialize(message);
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  bytes.copy(frame, 5);
  return frame;
}

/** A call by Node's own HTTP/2 client that never cancels: the fields of the answer and its trailers, and its body as hex. */
function rawCall(path: string, fields: Record<string, string>, body: Buffer): Promise<Record<string, string>> {
  const session = connect(gatewayUrl);
  return new Promise<Record<string, string>>((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...fields });
    const seen: Record<string, string> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (headers) => {
      for (const [name, value] of Object.entries(headers)) seen[name] = String(value);
    });
    stream.on('trailers', (trailers) => {
      for (const [name, value] of Object.entries(trailers)) seen[name] = String(value);
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ ...seen, body: Buffer.concat(chunks).toString('hex') }));
    stream.on('error', reject);
    // A session that fails (a reset connection) fails the call, not the test run with an uncaught error.
    session.on('error', reject);
    stream.end(body);
  }).finally(() => session.close());
}

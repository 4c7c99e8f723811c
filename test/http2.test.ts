import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, nativeLayout } from '../src/index.js';
import { Backends, type Backend, type Echo } from './support/backend.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { startServeProcess } from './support/node-gateway.js';
import { makeTestPki, type TestPki } from './support/test-ca.js';

let cluster: EtcdCluster;
let etcd: EtcdClient;
let pki: TestPki;
let service: string;
let backend: Backend;
const backends = new Backends();
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  [cluster, pki] = await Promise.all([startEtcd(), makeTestPki()]);
  etcd = new EtcdClient({ endpoints: cluster.endpoints });
  backend = await backends.start('h2-echo');
  const record = nativeLayout().encode({ service: 'h2-echo', url: backend.url, weight: 1, tags: {} });
  await etcd.put(record.key, record.value);
  service = 'h2-echo';
});

afterAll(async () => {
  for (const stop of stops.splice(0)) await stop();
  await backends.closeAll();
  await cluster?.close();
  await pki?.remove();
});

async function serve(args: string[] = []) {
  const gateway = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_EDGE_ALLOW_LOOPBACK: 'true' }, args);
  stops.push(() => gateway.close());
  return gateway;
}

/** One HTTP/2 request: status, fields and body. */
function h2Request(session: ClientHttp2Session, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let text = '';
    let fields: IncomingHttpHeaders = {};
    stream.setEncoding('utf8');
    stream.on('response', (h) => (fields = h));
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ status: Number(fields[':status']), headers: fields, body: text }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

function curl(args: string[]): Promise<{ stdout: string; code: number }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'utf8' }, (error, stdout) => resolve({ stdout, code: error ? Number((error as { code?: number }).code ?? 1) : 0 }));
  });
}

describe('HTTP/2 on the Node listener', () => {
  it('cleartext: curl with --http2-prior-knowledge gets the instance answer over HTTP/2', async () => {
    const gateway = await serve();
    const { stdout, code } = await curl(['--http2-prior-knowledge', '-w', '\n%{http_version} %{http_code}', `${gateway.url}/svc/${service}/hello?x=1`]);
    expect(code).toBe(0);
    const [json, status] = stdout.split('\n');
    expect(status).toBe('2 200');
    const echo = JSON.parse(json!) as Echo;
    expect(echo.backend).toBe('h2-echo');
    expect(echo.url).toBe('/hello?x=1');
    // The instance sees HTTP/1.1 fields: a Host, never a pseudo-header.
    expect(echo.headers.host).toBe(`127.0.0.1:${backend.port}`);
    expect(echo.headers['x-forwarded-host']).toBe(new URL(gateway.url).host);
    expect(Object.keys(echo.headers).some((name) => name.startsWith(':'))).toBe(false);
  });

  it('cleartext: Node http2 client, a body sent, the gateway fields answered, its errors as over HTTP/1.1; HTTP/1.1 on the same port', async () => {
    const gateway = await serve();
    const session = connect(gateway.url);
    try {
      const posted = await h2Request(session, { ':method': 'POST', ':path': `/svc/${service}/items`, 'content-type': 'text/plain', cookie: 'a=1' }, 'x'.repeat(100_000));
      expect(posted.status).toBe(200);
      expect(posted.headers.via).toMatch(/etcd-edge/);
      expect(posted.headers['server-timing']).toMatch(/upstream;dur=/);
      const echo = JSON.parse(posted.body) as Echo;
      expect([echo.method, echo.bodyBytes, echo.headers.cookie]).toEqual(['POST', 100_000, 'a=1']);
      const missing = await h2Request(session, { ':path': '/svc/no-such-service/' });
      expect(missing.status).toBe(503);
      expect(JSON.parse(missing.body)).toMatchObject({ error: { code: 'NO_INSTANCES' } });
      // Several streams at once on one connection.
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => h2Request(session, { ':path': `/svc/${service}/n/${i}` })));
      expect(many.map((r) => (JSON.parse(r.body) as Echo).url)).toEqual(Array.from({ length: 20 }, (_, i) => `/n/${i}`));
    } finally {
      session.close();
    }
    const plain = await fetch(`${gateway.url}/svc/${service}/plain`);
    expect(plain.status).toBe(200);
    expect(((await plain.json()) as Echo).url).toBe('/plain');
  });

  it('TLS: ALPN h2 and http/1.1 on one port (--tls-cert, --tls-key)', async () => {
    const gateway = await serve(['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey]);
    expect(gateway.url).toMatch(/^https:\/\//);
    const ca = readFileSync(pki.caFile);
    const session = connect(gateway.url, { ca });
    try {
      const answer = await h2Request(session, { ':path': `/svc/${service}/secure` });
      expect(answer.status).toBe(200);
      expect((session.socket as unknown as { alpnProtocol: string }).alpnProtocol).toBe('h2');
      const echo = JSON.parse(answer.body) as Echo;
      expect([echo.url, echo.headers['x-forwarded-proto']]).toEqual(['/secure', 'https']);
    } finally {
      session.close();
    }
    const http1 = await new Promise<{ status: number; body: string; alpn: string | false | null }>((resolve, reject) => {
      const req = httpsRequest(`${gateway.url}/svc/${service}/one`, { ca, ALPNProtocols: ['http/1.1'] } as RequestOptions, (res) => {
        let body = '';
        const alpn = (res.socket as TLSSocket).alpnProtocol;
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body, alpn }));
      });
      req.on('error', reject).end();
    });
    expect([http1.status, http1.alpn, (JSON.parse(http1.body) as Echo).url]).toEqual([200, 'http/1.1', '/one']);
    const { stdout } = await curl(['--cacert', pki.caFile, '--http2', '-w', '\n%{http_version}', `${gateway.url}/svc/${service}/curl`]);
    expect(stdout.split('\n')[1]).toBe('2');
    // A client that offers only ALPN h2 is served too.
    const alpn = await new Promise<string | false>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: Number(new URL(gateway.url).port), ca, ALPNProtocols: ['h2'] }, () => {
        resolve(socket.alpnProtocol ?? false);
        socket.destroy();
      }).on('error', reject);
    });
    expect(alpn).toBe('h2');
  });

  it('cleartext: a client that sends nothing, or garbage, does not disturb the listener', async () => {
    const gateway = await serve();
    const { stdout } = await curl(['-w', '%{http_code}', '-o', '/dev/null', '-X', 'PRI', `${gateway.url}/svc/${service}/`]);
    expect(stdout).not.toBe('000');
    expect((await fetch(`${gateway.url}/svc/${service}/after`)).status).toBe(200);
  });
});

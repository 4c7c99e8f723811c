import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, jsonBytes } from '../../src/index.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { startServeProcess } from '../support/node-gateway.js';
import { until } from '../support/until.js';
import { startTestWorker } from '../support/workerd.js';
import { exchange, Recorder, type Exchange } from './support/hostile-wire.js';
import { record } from './support/mode.js';

const ADMIN_TOKEN = 'edge-defaults-admin-token-0123';
const MAX_BODY = 1_000;

type Serve = Awaited<ReturnType<typeof startServeProcess>>;

/** A raw HTTP/1.1 request: what a client library would refuse to send is sent as written. */
function raw(target: string, fields: [string, string][] = [], options: { method?: string; body?: string; chunked?: boolean } = {}): Buffer {
  const lines = [`${options.method ?? 'GET'} ${target} HTTP/1.1`, 'Host: edge.test', ...fields.map(([name, value]) => `${name}: ${value}`)];
  let body = '';
  if (options.body !== undefined && options.chunked) {
    lines.push('Transfer-Encoding: chunked');
    body = `${options.body.length.toString(16)}\r\n${options.body}\r\n0\r\n\r\n`;
  } else if (options.body !== undefined) {
    lines.push(`Content-Length: ${options.body.length}`);
    body = options.body;
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

function junk(count: number): [string, string][] {
  return Array.from({ length: count }, (_, i) => [`x-junk-${i}`, 'j']);
}

function codeOf(answer: Exchange): string | undefined {
  if (answer.kind !== 'response') return answer.kind;
  return (JSON.parse(answer.body.toString('utf8')) as { error?: { code: string } }).error?.code;
}

describe('hostile input: the edge defaults', () => {
  let cluster: EtcdCluster;
  let etcd: EtcdClient;
  let a: Recorder;
  let b: Recorder;
  /** Defaults as shipped (loopback denied), admin routes on their own listener. */
  let strict: Serve;
  /** Loopback allowed (its instances are local), a body limit. */
  let dev: Serve;
  let strictAdmin: string;
  const figures: string[] = [];

  const send = (gateway: Serve, bytes: Buffer): Promise<Exchange> => {
    const { hostname, port } = new URL(gateway.url);
    return exchange(hostname, Number(port), bytes, { timeoutMs: 15_000 });
  };

  beforeAll(async () => {
    cluster = await startEtcd();
    etcd = new EtcdClient({ endpoints: cluster.endpoints });
    a = await Recorder.start('edge-a');
    b = await Recorder.start('edge-b');
    await etcd.put('services/edge-a/one', jsonBytes({ Op: 0, Addr: a.url }));
    await etcd.put('services/edge-b/one', jsonBytes({ Op: 0, Addr: b.url }));
    // etcd's own client port, as an instance: through the gateway it would take anyone's writes.
    await etcd.put('services/etcd-itself/one', jsonBytes({ Op: 0, Addr: cluster.endpoints[0] }));
    strict = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ADMIN_TOKEN, ETCD_EDGE_ADMIN_PORT: '0' });
    await until(() => /admin on http:\/\/\S+\/_edge\//.test(strict.process.stderr), 5_000);
    strictAdmin = /admin on (http:\/\/\S+)\/_edge\//.exec(strict.process.stderr)![1]!;
    dev = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ADMIN_TOKEN, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ETCD_EDGE_MAX_BODY_BYTES: String(MAX_BODY) });
    // The gateway itself, as an instance of a service: each pass strips /svc/self and sends the rest back to it.
    await etcd.put('services/self/one', jsonBytes({ Op: 0, Addr: dev.url }));
  }, 60_000);

  afterAll(async () => {
    record({
      id: 8,
      scenario: 'Hostile input: edge defaults',
      load: 'one request per case, raw HTTP/1.1 to etcd-edge serve (and the Worker for the header flood)',
      fault: 'a header flood hiding forged client fields, an instance at etcd\'s client port, an instance at the gateway itself, absolute-form dot segments, client-address fields from an untrusted peer, TRACE, oversized bodies, admin routes on the proxy port',
      failures: '0 (every case refused as the defaults say)',
      lost: 'nothing',
      figures: figures.join('; '),
    });
    await strict?.close();
    await dev?.close();
    await Promise.all([a?.close(), b?.close()]);
    await cluster?.close();
  });

  it('refuses a header flood with 431 instead of hiding the forwarding fields, on Node', async () => {
    const before = a.received.length;
    const flood = await send(dev, raw('/svc/edge-a/x', [['Forwarded', 'for=6.6.6.6'], ['X-Real-IP', '6.6.6.6'], ...junk(1_100)]));
    expect(flood).toMatchObject({ kind: 'response', status: 431 });
    expect(codeOf(flood)).toBe('TOO_MANY_HEADERS');
    expect(a.received.length).toBe(before);
    // 99 of the client's fields and Host: the gateway's own still reach the instance.
    expect(await send(dev, raw('/svc/edge-a/x', junk(99)))).toMatchObject({ kind: 'response', status: 200 });
    const got = a.received.at(-1)!.headers;
    for (const name of ['x-forwarded-for', 'forwarded', 'via', 'x-request-id', 'x-junk-98']) expect(got[name], name).toBeDefined();
    figures.push('1,102 fields: 431, 100: 200 with the forwarding fields');
  });

  it('refuses a header flood with 431 in the Worker too', async () => {
    const worker = await startTestWorker('etcd-edge-edge-defaults', new URL('../../src/adapters/worker/index.ts', import.meta.url), {
      ETCD_ENDPOINTS: cluster.endpoints.join(','),
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
    });
    try {
      const url = (await worker.url).origin;
      const headers = Object.fromEntries(junk(150));
      const flood = await fetch(`${url}/svc/edge-a/x`, { headers });
      expect(flood.status).toBe(431);
      expect(((await flood.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_HEADERS');
      expect((await fetch(`${url}/svc/edge-a/x`, { headers: Object.fromEntries(junk(50)) })).status).toBe(200);
    } finally {
      await worker.dispose();
    }
  }, 60_000);

  it('skips loopback instances by default: nothing reaches etcd through the gateway', async () => {
    const key = Buffer.from('pwned-through-the-gateway').toString('base64');
    const put = await send(strict, raw('/svc/etcd-itself/v3/kv/put', [['Content-Type', 'application/json']], { method: 'POST', body: JSON.stringify({ key, value: key }) }));
    expect(put).toMatchObject({ kind: 'response', status: 503 });
    expect(codeOf(put)).toBe('NO_INSTANCES');
    expect((await etcd.range('pwned-through-the-gateway')).kvs).toHaveLength(0);
    const view = (await (await fetch(`${strictAdmin}/_edge/services/etcd-itself`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { skipped: { reason: string }[] };
    expect(view.skipped[0]!.reason).toMatch(/is denied \(127\.0\.0\.0\/8, loopback; ETCD_EDGE_ALLOW_LOOPBACK=true allows it for development\)/);
    // And with loopback allowed, the same request would have written the key: the default is what stops it.
    const allowed = await send(dev, raw('/svc/etcd-itself/v3/kv/range', [['Content-Type', 'application/json']], { method: 'POST', body: JSON.stringify({ key }) }));
    expect(allowed).toMatchObject({ kind: 'response', status: 200 });
  });

  it('stops a loop through its own deployment at ETCD_EDGE_MAX_HOPS with 508', async () => {
    const path = `${'/svc/self'.repeat(20)}/svc/edge-a/end`;
    const looped = await send(dev, raw(path));
    expect(looped).toMatchObject({ kind: 'response', status: 508 });
    expect(codeOf(looped)).toBe('LOOP_DETECTED');
    const before = a.received.length;
    // Seven passes and out: under the limit, the request arrives.
    expect(await send(dev, raw(`${'/svc/self'.repeat(7)}/svc/edge-a/end`))).toMatchObject({ kind: 'response', status: 200 });
    expect(a.received.length).toBe(before + 1);
    expect(String(a.received.at(-1)!.headers.via).split(',')).toHaveLength(8);
    figures.push('a request aimed at the gateway itself 20 times: 508 after 8 passes');
  });

  it('checks absolute-form request targets like origin-form ones', async () => {
    const { host } = new URL(dev.url);
    const before = b.received.length;
    for (const target of [`http://${host}/svc/edge-a/../edge-b/x`, `http://${host}/svc/edge-a/%2e%2e/edge-b/x`, '/svc/edge-a/../edge-b/x']) {
      const answer = await send(dev, raw(target));
      expect(answer, target).toMatchObject({ kind: 'response', status: 400 });
    }
    expect(b.received.length).toBe(before);
    expect(await send(dev, raw(`http://${host}/svc/edge-b/fine`))).toMatchObject({ kind: 'response', status: 200 });
    expect(b.received.at(-1)!.url).toBe('/fine');
  });

  it('drops client-address fields an untrusted client sends', async () => {
    await send(dev, raw('/svc/edge-a/ip', [['X-Real-IP', '6.6.6.6'], ['True-Client-IP', '6.6.6.6'], ['CF-Connecting-IP', '6.6.6.6']]));
    const got = a.received.at(-1)!;
    expect(got.url).toBe('/ip');
    for (const name of ['x-real-ip', 'true-client-ip', 'cf-connecting-ip']) expect(got.headers[name], name).toBeUndefined();
  });

  it('refuses TRACE with 405', async () => {
    const before = a.received.length;
    const trace = await send(dev, raw('/svc/edge-a/x', [], { method: 'TRACE' }));
    expect(trace).toMatchObject({ kind: 'response', status: 405 });
    expect((trace as Extract<Exchange, { kind: 'response' }>).headers.get('allow')?.[0]).not.toContain('TRACE');
    expect(a.received.length).toBe(before);
  });

  it('refuses bodies over ETCD_EDGE_MAX_BODY_BYTES with 413, declared or streamed', async () => {
    const before = a.received.length;
    const declared = await send(dev, raw('/svc/edge-a/up', [], { method: 'POST', body: 'x'.repeat(MAX_BODY + 1) }));
    expect(declared).toMatchObject({ kind: 'response', status: 413 });
    expect(codeOf(declared)).toBe('PAYLOAD_TOO_LARGE');
    expect(a.received.length).toBe(before);
    // 1 MB: more than the gateway has read from the socket when it answers.
    const streamed = await send(dev, raw('/svc/edge-a/up', [], { method: 'POST', body: 'x'.repeat(MAX_BODY * 1_000), chunked: true }));
    expect(streamed).toMatchObject({ kind: 'response', status: 413 });
    // The rest of a streamed body is never read, so the connection cannot carry another request: it says so and closes.
    expect((streamed as Extract<Exchange, { kind: 'response' }>).headers.get('connection')).toEqual(['close']);
    // A small declared one (within 64 KiB) is read and dropped, so the client sees the 413 and keeps its connection.
    expect((declared as Extract<Exchange, { kind: 'response' }>).headers.get('connection')).toEqual(['keep-alive']);
    expect(await send(dev, raw('/svc/edge-a/up', [], { method: 'POST', body: 'x'.repeat(MAX_BODY), chunked: true }))).toMatchObject({ kind: 'response', status: 200 });
  });

  it('serves admin routes only on the admin listener when it has one', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await fetch(`${strict.url}/_edge/health`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${strictAdmin}/_edge/health`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${strictAdmin}/_edge/health`)).status).toBe(401);
    expect(new URL(strictAdmin).hostname).toBe('127.0.0.1');
    expect((await fetch(`${dev.url}/_edge/health`, { headers: auth })).status).toBe(200);
  });

  it('takes the admin listener from --admin-port and --admin-host as from the variables; writes the access log to stdout', async () => {
    const flagged = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ADMIN_TOKEN, ETCD_EDGE_ACCESS_LOG: 'stdout' }, ['--admin-port', '0', '--admin-host', '127.0.0.2']);
    try {
      await until(() => /admin on http:\/\/\S+\/_edge\//.test(flagged.process.stderr), 5_000);
      const admin = /admin on (http:\/\/\S+)\/_edge\//.exec(flagged.process.stderr)![1]!;
      expect(new URL(admin).hostname).toBe('127.0.0.2');
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
      expect((await fetch(`${admin}/_edge/health`, { headers: auth })).status).toBe(200);
      expect((await fetch(`${flagged.url}/_edge/health`, { headers: auth })).status).toBe(404);
      // Loopback instances are denied here: a 503, logged as one JSON line on stdout beside the banner.
      expect((await fetch(`${flagged.url}/svc/edge-a/logged?q=1`)).status).toBe(503);
      await until(() => flagged.process.stdout.includes('"service":"edge-a"'), 5_000);
      const line = flagged.process.stdout.split('\n').find((l) => l.includes('"service":"edge-a"'))!;
      expect(JSON.parse(line)).toMatchObject({ method: 'GET', path: '/svc/edge-a/logged', service: 'edge-a', status: 503, attempts: 0 });
    } finally {
      await flagged.close();
    }
  });
});

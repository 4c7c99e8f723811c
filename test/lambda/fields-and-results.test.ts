import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { Backend } from '../support/backend.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { until } from '../support/until.js';
import { Answers, GZIPPED_DOCUMENT } from './answers.js';
import { echoOf, header, invoke, LambdaEnv, recorded, type Event, type LambdaResult, type Shape } from './harness.js';

const ECHO = 'lambda-fields';
const ANSWERS = 'lambda-answers';

/** A recorded event turned into a bodiless GET of `path` under the service. */
function get(shape: Shape, service: string, path: string): Event {
  const event = recorded(shape, service);
  delete event.body;
  delete (event.headers as Record<string, string>)['content-length'];
  if (shape === 'apigw-v2-http' || shape === 'function-url') {
    event.rawPath = `/svc/${service}${path}`;
    event.requestContext.http!.method = 'GET';
  } else {
    event.path = `/svc/${service}${path}`;
    event.httpMethod = 'GET';
  }
  return event;
}

/** The recorded ALB event as a target group with multi-value headers on sends it. */
function albMultiValue(service: string, path: string, extra: Record<string, string[]> = {}): Event {
  const event = get('alb', service, path);
  const single = (values: Record<string, string>) => Object.fromEntries(Object.entries(values).map(([name, value]) => [name, [value]]));
  event.multiValueHeaders = { ...single(event.headers as Record<string, string>), ...extra };
  event.multiValueQueryStringParameters = single(event.queryStringParameters as Record<string, string>);
  delete event.headers;
  delete event.queryStringParameters;
  return event;
}

function expectTooLarge(result: LambdaResult, service: string): void {
  expect(result.statusCode, result.body.slice(0, 200)).toBe(502);
  expect(JSON.parse(result.body)).toEqual({ error: { code: 'RESPONSE_TOO_LARGE', message: expect.any(String), service } });
  expect(header(result, 'content-type')).toMatch(/^application\/json/);
  expect(header(result, 'x-request-id')).toMatch(/./);
}

describe('lambda handler: multi-value fields, instances reached as on Node, results Lambda can return', () => {
  let cluster: EtcdCluster;
  let backend: Backend;
  let answers: Answers;
  let env: LambdaEnv | undefined;
  let etcd: EtcdClient;
  let lease: string;

  async function register(service: string, url: string): Promise<void> {
    const record = nativeLayout().encode({ service, url, weight: 1 });
    await etcd.put(record.key, record.value, { lease });
  }

  beforeAll(async () => {
    [cluster, backend, answers] = await Promise.all([startEtcd(), Backend.start('fields'), Answers.start()]);
    etcd = new EtcdClient({ endpoints: cluster.endpoints });
    lease = (await etcd.leaseGrant(120)).id;
    await register(ECHO, backend.url);
    await register(ANSWERS, answers.url);
    env = new LambdaEnv(cluster.endpoints);
  }, 60_000);

  afterAll(async () => {
    env?.restore();
    await Promise.all([backend?.close(), answers?.close()]);
    await cluster?.close();
  });

  it('ALB multi-value fields reach the instance joined with ", " (cookie with "; "), one field per name whatever its case', async () => {
    const event = albMultiValue(ECHO, '/fields', { 'x-multi': ['a', 'b'], accept: ['text/html', 'application/json'], cookie: ['c1=1', 'c2=2'], 'X-Case': ['1'], 'x-case': ['2'] });
    const result = await invoke(event);
    const echo = echoOf(result);
    expect(echo.headers).toMatchObject({ 'x-multi': 'a, b', accept: 'text/html, application/json', cookie: 'c1=1; c2=2', 'x-case': '1, 2' });
    expect(echo.headers['x-forwarded-for']).toMatch(/(^|, )72\.12\.164\.125$/);
    expect(echo.url).toBe('/fields?query=1234ABCD&q=a%20b');
    // Answered in kind, and the event given to the handler is left as it was.
    expect(result.multiValueHeaders?.['content-type']).toEqual(['application/json']);
    expect((event.multiValueHeaders as Record<string, string[]>)['x-multi']).toEqual(['a', 'b']);
  });

  it('API Gateway v1 multi-value cookies still reach the instance joined with "; "', async () => {
    const event = get('apigw-v1-rest', ECHO, '/cookies');
    (event.multiValueHeaders as Record<string, string[]>).Cookie = ['c1=1', 'c2=2'];
    (event.headers as Record<string, string>).Cookie = 'c2=2';
    expect(echoOf(await invoke(event)).headers).toMatchObject({ cookie: 'c1=1; c2=2', header2: 'value2, value3' });
  });

  it('checks what an instance hostname resolves to when connecting, as on Node', async () => {
    const named = 'lambda-by-name';
    await register(named, `http://localhost:${backend.port}`);
    const before = backend.requests;
    try {
      // `localhost` passes the name check but resolves to loopback, which this deny list covers.
      env!.set('ETCD_EDGE_DENY', '127.0.0.0/8,::1');
      env!.set('ETCD_EDGE_ALLOW', 'localhost');
      const refused = await invoke(get('apigw-v2-http', named, '/'));
      expect(refused.statusCode).toBe(502);
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'UPSTREAM_UNREACHABLE', service: named } });
      expect(backend.requests).toBe(before);
    } finally {
      env!.set('ETCD_EDGE_DENY', undefined);
      env!.set('ETCD_EDGE_ALLOW', undefined);
    }
    expect(echoOf(await invoke(get('apigw-v2-http', named, '/'))).method).toBe('GET');
  });

  it('a gzip answer passes through compressed, with its Content-Encoding, base64 in the result', async () => {
    for (const shape of ['apigw-v2-http', 'apigw-v1-rest', 'alb'] as const) {
      const result = await invoke(get(shape, ANSWERS, '/gzip'));
      expect(result.statusCode, shape).toBe(200);
      expect(result.isBase64Encoded, shape).toBe(true);
      expect(header(result, 'content-encoding'), shape).toBe('gzip');
      const bytes = Buffer.from(result.body, 'base64');
      expect(header(result, 'content-length'), shape).toBe(String(bytes.length));
      expect(gunzipSync(bytes).toString('utf8'), shape).toBe(GZIPPED_DOCUMENT);
    }
  });

  // 64 MiB answers, more than loopback's socket buffers hold, so an instance still writing shows the gateway let go.
  it('an answer with a Content-Length past the limit is refused unread: 502 RESPONSE_TOO_LARGE', async () => {
    const before = backend.abandoned;
    const result = await invoke(get('apigw-v2-http', ECHO, `/bytes/${64 * 1024 * 1024}`));
    expectTooLarge(result, ECHO);
    // The instance's connection was let go, not drained.
    await until(() => backend.abandoned > before, 5_000);
  });

  it('an answer of unknown length is read up to the limit, then cut: 502 RESPONSE_TOO_LARGE', async () => {
    const before = answers.abandoned;
    expectTooLarge(await invoke(get('function-url', ANSWERS, `/unsized/${64 * 1024 * 1024}`)), ANSWERS);
    await until(() => answers.abandoned > before, 5_000);
  });

  it("the limit is the event source's: 4 MB passes API Gateway (base64), not an ALB (1 MB)", async () => {
    const path = '/bytes/4000000';
    const v2 = await invoke(get('apigw-v2-http', ECHO, path));
    expect(v2.statusCode).toBe(200);
    expect(v2.isBase64Encoded).toBe(true);
    // Not toEqual: vitest compares 4 MB byte by byte for tens of seconds.
    expect(Buffer.from(v2.body, 'base64').equals(Buffer.alloc(4_000_000))).toBe(true);
    expectTooLarge(await invoke(get('alb', ECHO, path)), ECHO);
  });

  it('a text answer under the limit whose JSON escapes pass it is refused too', async () => {
    // 600,000 quotes are 1.2 MB once escaped in the result's JSON; 400,000 are 800 kB.
    expectTooLarge(await invoke(get('alb', ANSWERS, '/quotes/600000')), ANSWERS);
    const fits = await invoke(get('alb', ANSWERS, '/quotes/400000'));
    expect(fits.statusCode).toBe(200);
    expect(fits.body).toBe('"'.repeat(400_000));
  });

  it('an answer broken off mid-body is the gateway\'s 502 UPSTREAM_UNREACHABLE, not a failed invocation', async () => {
    const result = await invoke(get('apigw-v2-http', ANSWERS, '/broken'));
    expect(result.statusCode).toBe(502);
    expect(JSON.parse(result.body)).toEqual({ error: { code: 'UPSTREAM_UNREACHABLE', message: expect.any(String), service: ANSWERS } });
  });

  it('the access log says what the event source got back: the 502 that replaced an answer too large, not the instance\'s 200', async () => {
    env!.set('ETCD_EDGE_ACCESS_LOG', 'stdout');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const tooLarge = await invoke(get('alb', ANSWERS, '/quotes/600000'));
      const fits = await invoke(get('alb', ANSWERS, '/quotes/400000'));
      const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)) as { requestId: string; status: number; bytes: number });
      const lineOf = (result: LambdaResult) => lines.filter((line) => line.requestId === header(result, 'x-request-id'));
      expect(lineOf(tooLarge)).toEqual([expect.objectContaining({ status: 502, bytes: Buffer.byteLength(tooLarge.body) })]);
      expect(lineOf(fits)).toEqual([expect.objectContaining({ status: 200, bytes: Buffer.byteLength(fits.body) })]);
    } finally {
      log.mockRestore();
      env!.set('ETCD_EDGE_ACCESS_LOG', undefined);
    }
  });

  it('an ALB in single-value mode keeps one Set-Cookie; in multi-value mode, all of them', async () => {
    const single = await invoke(get('alb', ANSWERS, '/cookies'));
    expect(single.headers?.['set-cookie']).toBe('a=1; Path=/');
    const multi = await invoke(albMultiValue(ANSWERS, '/cookies'));
    expect(multi.multiValueHeaders?.['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
  });
});

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EtcdClient, nativeLayout } from '../src/index.js';
import { Backend } from './support/backend.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { describeGatewayScenarios, type RunningGateway } from './support/gateway-scenarios.js';
import { until } from './support/until.js';
import { echoOf, header, INHERITED, invoke, LAMBDA_DIR, LambdaEnv, recorded } from './lambda/harness.js';

/**
 * The built Lambda handler behind `test/lambda/bridge.mjs`, which plays API
 * Gateway (HTTP API, payload 2.0) on a free loopback port; `close` sends
 * SIGTERM and expects a clean exit.
 */
async function startBridge(env: Record<string, string>): Promise<RunningGateway> {
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !INHERITED(name)) childEnv[name] = value;
  // The test backends are on loopback, which the gateway denies unless told otherwise.
  Object.assign(childEnv, { ETCD_EDGE_ALLOW_LOOPBACK: 'true' }, env);
  const child = spawn(process.execPath, [join(LAMBDA_DIR, 'bridge.mjs')], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await until(() => /listening on http/.test(stdout) || child.exitCode !== null, 15_000);
  const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
  if (!url) throw new Error(`the Lambda bridge did not start:\n${stderr}`);
  return {
    url,
    pid: child.pid!,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const { code } = await exited;
      if (code !== 0) throw new Error(`the Lambda bridge exited with ${code}:\n${stderr}`);
    },
  };
}

// Lambda's buffered handler returns whole responses: server-sent events arrive at once.
describeGatewayScenarios({ name: 'lambda', start: (env) => startBridge(env), rawPaths: true, streamsResponses: false });

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

describe('lambda handler, in process, with recorded event shapes', () => {
  let cluster: EtcdCluster;
  let backend: Backend;
  let env: LambdaEnv | undefined;
  const service = 'lambda-events';

  beforeAll(async () => {
    [cluster, backend] = await Promise.all([startEtcd(), Backend.start('events')]);
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const { id } = await etcd.leaseGrant(120);
    const record = nativeLayout().encode({ service, url: backend.url, weight: 1 });
    await etcd.put(record.key, record.value, { lease: id });
    env = new LambdaEnv(cluster.endpoints);
  }, 60_000);

  afterAll(async () => {
    env?.restore();
    await backend?.close();
    await cluster?.close();
  });

  it('API Gateway v1 (REST): multi-value headers and query, body, source IP', async () => {
    const event = recorded('apigw-v1-rest', service);
    const result = await invoke(event);
    const echo = echoOf(result);
    expect(echo).toMatchObject({ method: 'POST', url: '/v1/orders/42?parameter1=value1&parameter1=value2&parameter2=a%20b' });
    expect(echo.bodySha256).toBe(sha256(event.body as string));
    expect(echo.headers).toMatchObject({ 'content-type': 'application/json', header1: 'value1', header2: 'value2, value3', host: `127.0.0.1:${backend.port}` });
    expect(echo.headers['x-forwarded-for']).toMatch(/(^|, )198\.51\.100\.23$/);
    expect(echo.headers['x-forwarded-for']).toMatch(/^203\.0\.113\.99, /);
    expect(echo.headers.forwarded).toContain('for=198.51.100.23');
    expect(echo.headers['x-forwarded-host']).toBe('abcdef1234.execute-api.us-east-1.amazonaws.com');
    // A v1 event that carries multiValueHeaders is answered in kind.
    expect(result.multiValueHeaders?.['content-type']).toEqual(['application/json']);
    expect(header(result, 'x-backend')).toBe('events');
  });

  it('API Gateway v2 (HTTP API): raw query, cookies, body, source IP', async () => {
    const event = recorded('apigw-v2-http', service);
    const result = await invoke(event);
    const echo = echoOf(result);
    expect(echo).toMatchObject({ method: 'PATCH', url: '/my/path?parameter1=value1&parameter1=value2&parameter2=value', bodyBytes: 17 });
    expect(echo.bodySha256).toBe(sha256('Hello from client'));
    expect(echo.headers).toMatchObject({ cookie: 'cookie1=one; cookie2=two', header2: 'value1,value2', 'content-type': 'text/plain' });
    expect(echo.headers['x-forwarded-for']).toMatch(/(^|, )192\.0\.2\.44$/);
    expect(echo.headers.forwarded).toContain('for=192.0.2.44');
    expect(result.headers?.['content-type']).toBe('application/json');
    expect(result.headers?.['x-request-id']).toBe(echo.headers['x-request-id']);
  });

  it('ALB: path and still-encoded query, body, client IP from the X-Forwarded-For ALB appended', async () => {
    const event = recorded('alb', service);
    const result = await invoke(event);
    const echo = echoOf(result);
    expect(echo).toMatchObject({ method: 'DELETE', url: '/lambda?query=1234ABCD&q=a%20b' });
    expect(echo.bodySha256).toBe(sha256('remove: all'));
    expect(echo.headers['x-forwarded-for']).toMatch(/(^|, )72\.12\.164\.125$/);
    expect(echo.headers.forwarded).toContain('for=72.12.164.125');
    expect(result.headers?.['content-type']).toBe('application/json');
    expect(result.multiValueHeaders).toBeUndefined();
  });

  it('Function URL: the v2 shape on a lambda-url domain', async () => {
    const event = recorded('function-url', service);
    const result = await invoke(event);
    const echo = echoOf(result);
    expect(echo).toMatchObject({ method: 'POST', url: '/my/path?parameter1=value1&parameter1=value2&parameter2=value' });
    expect(echo.bodySha256).toBe(sha256('Hello from client!'));
    expect(echo.headers['x-forwarded-for']).toMatch(/(^|, )123\.123\.123\.123$/);
    expect(echo.headers['x-forwarded-host']).toBe('abcdefghijklmnopqrstuvwxyz0123.lambda-url.us-east-1.on.aws');
    expect(result.headers?.['x-backend']).toBe('events');
  });

  it('a POST with a base64 body reaches the instance as the original bytes', async () => {
    const bytes = randomBytes(64 * 1024);
    const event = recorded('function-url', service);
    event.body = bytes.toString('base64');
    event.isBase64Encoded = true;
    (event.headers as Record<string, string>)['content-type'] = 'application/octet-stream';
    const echo = echoOf(await invoke(event));
    expect(echo).toMatchObject({ method: 'POST', bodyBytes: bytes.length });
    expect(echo.bodySha256).toBe(sha256(bytes));
    expect(echo.headers['content-type']).toBe('application/octet-stream');
  });

  it('a binary answer comes back base64-encoded', async () => {
    const event = recorded('apigw-v2-http', service);
    event.rawPath = `/svc/${service}/bytes/1000`;
    event.requestContext.http!.method = 'GET';
    delete event.body;
    const result = await invoke(event);
    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBe(true);
    expect(Buffer.from(result.body, 'base64')).toEqual(Buffer.alloc(1000));
  });

  it('answers 503 NO_INSTANCES JSON for a service nobody registered', async () => {
    for (const shape of ['apigw-v1-rest', 'apigw-v2-http', 'alb', 'function-url'] as const) {
      const result = await invoke(recorded(shape, 'nobody-registered-this'));
      expect(result.statusCode, shape).toBe(503);
      expect(header(result, 'retry-after'), shape).toMatch(/^\d+$/);
      expect(JSON.parse(result.body), shape).toEqual({ error: { code: 'NO_INSTANCES', message: expect.any(String), service: 'nobody-registered-this' } });
    }
  });

  it('refuses dot segments in the path as the event gives it (400), before the URL resolves them', async () => {
    const v2 = recorded('apigw-v2-http', service);
    v2.rawPath = `/svc/${service}/a/../../other/x`;
    const v1 = recorded('apigw-v1-rest', service);
    v1.path = `/svc/${service}/%2e%2e/x`;
    for (const event of [v2, v1]) {
      const result = await invoke(event);
      expect(result.statusCode).toBe(400);
      expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    }
  });

  it('a misconfigured environment answers 500 naming nothing, and logs the variable', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const bad = 'bogus-strategy-7f3a';
    try {
      env!.set('ETCD_EDGE_STRATEGY', bad);
      for (const shape of ['apigw-v1-rest', 'apigw-v2-http', 'alb', 'function-url'] as const) {
        const result = await invoke(recorded(shape, service));
        expect(result.statusCode, shape).toBe(500);
        expect(result.body, shape).not.toContain(bad);
        expect(JSON.parse(result.body), shape).toMatchObject({ error: { code: 'INTERNAL', message: expect.any(String) } });
        expect(header(result, 'content-type'), shape).toMatch(/^application\/json/);
      }
      const logged = errors.mock.calls.map((args) => args.map(String).join(' '));
      expect(logged.some((line) => line.includes('ETCD_EDGE_STRATEGY'))).toBe(true);
      // Logged once per configuration, not per request.
      expect(logged.filter((line) => line.includes('ETCD_EDGE_STRATEGY'))).toHaveLength(1);
    } finally {
      errors.mockRestore();
      env!.set('ETCD_EDGE_STRATEGY', undefined);
    }
    // Back on the good configuration, the same warm handler routes again.
    expect(echoOf(await invoke(recorded('apigw-v2-http', service))).method).toBe('PATCH');
  });
});

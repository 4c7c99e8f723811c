import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backend } from './support/backend.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';

const ROOT = join(import.meta.dirname, '..');
/** What the package depends on at run time, linked from this checkout (no network). */
const DEPENDENCIES = ['hono', 'undici', 'zod', '@hono/node-server'];

/**
 * A separate package, as a user would have it: etcd-edge installed from the
 * tarball `npm pack` makes (so only `files` and the `exports` map are
 * reachable), importing the gateway from its published entry points and
 * composing it with Hono's own cors and jwt middleware.
 */
describe('etcd-edge as a dependency of another package', () => {
  let dir: string;
  let cluster: EtcdCluster;
  let backend: Backend;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'etcd-edge-consumer-'));
    // dist/ is fresh from the suite's global setup (test/support/build.ts): no second build racing the CLI tests.
    execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'))!;
    const installed = join(dir, 'node_modules', 'etcd-edge');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, tarball), '-C', installed, '--strip-components=1']);
    for (const name of DEPENDENCIES) {
      mkdirSync(join(dir, 'node_modules', name, '..'), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    [cluster, backend] = await Promise.all([startEtcd(), Backend.start('orders-1')]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([cluster?.close(), backend?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports the gateway from etcd-edge, etcd-edge/node and etcd-edge/lambda, and serves /svc/ behind cors and jwt on Node and in a Lambda handler', async () => {
    writeFileSync(
      join(dir, 'consumer.mjs'),
      `
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { jwt, sign } from 'hono/jwt';
import { EtcdClient, nativeLayout, etcdEdge } from 'etcd-edge';
import { nodeEdge } from 'etcd-edge/node';
import { handle } from 'hono/aws-lambda';
import { handler, lambdaEdge, streamHandler } from 'etcd-edge/lambda';

const [endpoint, instanceUrl] = process.argv.slice(2);
const etcd = new EtcdClient({ endpoints: [endpoint] });
const record = nativeLayout().encode({ service: 'orders', id: 'orders-1', url: instanceUrl });
await etcd.put(record.key, record.value);

const secret = 'consumer-secret';
const edge = nodeEdge({ env: { ETCD_ENDPOINTS: endpoint, ETCD_EDGE_ALLOW_LOOPBACK: 'true' } });
const app = new Hono();
app.use('/svc/*', cors({ origin: 'https://app.example' }), jwt({ secret, alg: 'HS256' }), edge.middleware);
app.get('/', (c) => c.text('consumer home'));

const token = await sign({ sub: 'user-1', exp: Math.floor(Date.now() / 1000) + 60 }, secret, 'HS256');
const refused = await app.request('/svc/orders/hello');
const routed = await app.request('/svc/orders/hello', { headers: { authorization: 'Bearer ' + token, origin: 'https://app.example' } });
const portable = etcdEdge({ env: { ETCD_ENDPOINTS: endpoint } });

// The same composition on Lambda, run by hono/aws-lambda with a Function URL (v2) event.
const onLambda = lambdaEdge({ env: { ETCD_ENDPOINTS: endpoint, ETCD_EDGE_ALLOW_LOOPBACK: 'true' } });
const lambdaApp = new Hono().use('/svc/*', jwt({ secret, alg: 'HS256' }), onLambda.middleware);
const event = (authorization) => ({
  version: '2.0', routeKey: '$default', rawPath: '/svc/orders/from-lambda', rawQueryString: '', isBase64Encoded: false,
  headers: { host: 'abc.lambda-url.eu-west-1.on.aws', ...(authorization ? { authorization } : {}) },
  requestContext: { accountId: '1', apiId: 'abc', domainName: 'abc.lambda-url.eu-west-1.on.aws', requestId: 'r1', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0,
    http: { method: 'GET', path: '/svc/orders/from-lambda', protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'consumer' } },
});
const lambdaRefused = await handle(lambdaApp)(event(undefined), {});
const lambdaRouted = await handle(lambdaApp)(event('Bearer ' + token), {});
console.log(JSON.stringify({
  refused: refused.status,
  routed: routed.status,
  body: await routed.json(),
  cors: routed.headers.get('access-control-allow-origin'),
  home: await (await app.request('/')).text(),
  portable: typeof portable.middleware,
  lambda: [typeof handler, typeof streamHandler],
  lambdaRefused: lambdaRefused.statusCode,
  lambdaRouted: lambdaRouted.statusCode,
  lambdaBody: JSON.parse(lambdaRouted.body),
}));
await Promise.all([edge.close(), portable.close(), onLambda.close()]);
`,
    );
    // Not execFileSync: the backend answers from this process, which must keep running meanwhile.
    const { stdout: output } = await promisify(execFile)('node', ['consumer.mjs', cluster.endpoints[0]!, backend.url], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    const result = JSON.parse(output.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(result).toMatchObject({ refused: 401, routed: 200, cors: 'https://app.example', home: 'consumer home', portable: 'function', lambda: ['function', 'function'], lambdaRefused: 401, lambdaRouted: 200 });
    expect(result.lambdaBody).toMatchObject({ backend: 'orders-1', url: '/from-lambda' });
    expect(result.body).toMatchObject({ backend: 'orders-1', url: '/hello' });
  }, 60_000);

  it('keeps internals private: a deep import is refused by the exports map', () => {
    writeFileSync(join(dir, 'deep.mjs'), `await import('etcd-edge/dist/gateway/proxy.js');`);
    let failure = '';
    try {
      execFileSync('node', ['deep.mjs'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      failure = String((error as { stderr?: string }).stderr);
    }
    expect(failure).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});

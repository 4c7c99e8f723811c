// `npm start`: the Node gateway on port 8787 (PORT to change). Without
// ETCD_ENDPOINTS it runs a private local etcd first. `npm run demo` (--demo)
// also registers three demo backends with weights 5/3/2 and shows the spread.
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../dist/cli/main.js';
import { EtcdClient, nativeLayout, register } from '../dist/index.js';
import { startLocalEtcd } from './local-etcd.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demo = process.argv.includes('--demo');
const passThrough = process.argv.slice(2).filter((arg) => arg !== '--demo');
const log = (text) => process.stderr.write(`${text}\n`);
const controller = new AbortController();
const cleanup = [];
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => controller.abort());

async function run() {
  const env = { ...process.env };
  if (!env.ETCD_ENDPOINTS) {
    const etcd = await startLocalEtcd(process.env.ETCD_EDGE_LOCAL_DIR ?? join(root, '.etcd-edge'), log);
    cleanup.push(() => etcd.stop());
    env.ETCD_ENDPOINTS = etcd.endpoint;
    log(`local etcd on ${etcd.endpoint} (data in ${etcd.dataDir})`);
  }
  let listening;
  const ready = new Promise((resolve) => (listening = resolve));
  const out = {
    write(text) {
      process.stdout.write(text);
      const url = /listening on (\S+)/.exec(text)?.[1];
      if (url) listening(url);
    },
  };
  const serving = main(['serve', ...passThrough], { env, signal: controller.signal, out });
  const url = await Promise.race([ready, serving.then(() => undefined)]);
  if (url) await (demo ? runDemo(url, env.ETCD_ENDPOINTS, !process.env.ETCD_ENDPOINTS) : hint(url, env.ETCD_ENDPOINTS));
  return serving;
}

function hint(url, endpoints) {
  const flag = endpoints === 'http://127.0.0.1:2379' ? '' : ` --etcd ${endpoints}`;
  log(`
Gateway: ${url}/svc/{service}/{path}
Try it:
  npx etcd-edge register hello http://127.0.0.1:9000${flag}   # in another terminal
  curl -i ${url}/svc/hello/
Ctrl-C stops the gateway${process.env.ETCD_ENDPOINTS ? '' : ' and the local etcd'}.`);
}

async function runDemo(url, endpoints, privateEtcd) {
  const etcd = new EtcdClient({ endpoints: endpoints.split(',') });
  const layout = nativeLayout(process.env.ETCD_EDGE_PREFIX || undefined);
  // In its private etcd the demo owns this service: clear instances a demo killed with -9 left behind.
  if (privateEtcd) await etcd.delete({ prefix: layout.servicePrefix('demo') });
  const weights = { 'demo-a': 5, 'demo-b': 3, 'demo-c': 2 };
  for (const [name, weight] of Object.entries(weights)) {
    const server = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ backend: name, path: req.url })));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const instance = await register(etcd, { service: 'demo', url: `http://127.0.0.1:${server.address().port}`, weight, ttl: 5, layout });
    cleanup.unshift(() => instance.close().catch(() => undefined), () => new Promise((r) => server.close(r)));
    log(`registered ${name} (weight ${weight}) at ${instance.key}`);
  }
  const counts = {};
  const total = 1000;
  for (let i = 0; i < total; i++) {
    const response = await fetch(`${url}/svc/demo/hello`);
    const { backend } = await response.json();
    counts[backend] = (counts[backend] ?? 0) + 1;
  }
  log(`\n${total} requests to ${url}/svc/demo/hello:`);
  for (const [name, weight] of Object.entries(weights)) {
    const n = counts[name] ?? 0;
    log(`  ${name}  weight ${weight}  ${String(n).padStart(4)}  ${'#'.repeat(Math.round(n / 10))}`);
  }
  log(`\nTry: curl -i ${url}/svc/demo/anything   (Ctrl-C stops everything)`);
}

let code = 1;
try {
  code = await run();
} catch (error) {
  log(`etcd-edge: ${error.message}`);
} finally {
  for (const step of cleanup) await step();
}
process.exit(code);

// What `npm start` and `npm run demo` put behind the gateway: small HTTP
// backends on 127.0.0.1, the steps printed to try the gateway by hand, and
// the demo's weighted spread.
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdClient, nativeLayout, register } from '../dist/index.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'etcd-edge.js');

/** An HTTP server on a free port of 127.0.0.1 answering `answer(req)` as JSON; resolves with its URL and a close. */
export async function startBackend(answer) {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(answer(req))}\n`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** A word for a shell: as it is when it holds nothing the shell reads, else single-quoted. */
function shellWord(text) {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * The try-it steps, every one runnable as printed from any directory: the
 * command names this checkout's CLI by its absolute path (`npx etcd-edge`
 * resolves only inside the checkout) and the etcd the gateway reads.
 */
export function tryItSteps({ gatewayUrl, backendUrl, endpoints, ownEtcd, credentials }) {
  const register = ['node', BIN, 'register', 'hello', backendUrl, '--etcd', endpoints].map(shellWord).join(' ');
  return [
    `Gateway: ${gatewayUrl}/svc/{service}/{path}`,
    `A hello backend answers on ${backendUrl}. Try it, in another terminal:`,
    `  ${register}`,
    `  curl -i ${gatewayUrl}/svc/hello/`,
    ...(credentials ? ['  (with the same ETCD_USERNAME and ETCD_PASSWORD in that terminal)'] : []),
    `Ctrl-C stops the gateway, the hello backend${ownEtcd ? ' and the local etcd' : ''}.`,
  ];
}

/** Registers three weighted backends as `demo`, sends 1,000 requests and logs the spread. */
export async function runDemo({ url, endpoints, ownEtcd, log, cleanup, signal }) {
  const etcd = new EtcdClient({ endpoints: endpoints.split(',') });
  const layout = nativeLayout(process.env.ETCD_EDGE_PREFIX || undefined);
  // In its private etcd the demo owns this service: clear instances a demo killed with -9 left behind.
  if (ownEtcd) await etcd.delete({ prefix: layout.servicePrefix('demo') });
  const weights = { 'demo-a': 5, 'demo-b': 3, 'demo-c': 2 };
  for (const [name, weight] of Object.entries(weights)) {
    const backend = await startBackend((req) => ({ backend: name, path: req.url }));
    cleanup.unshift(backend.close);
    const instance = await register(etcd, { service: 'demo', url: backend.url, weight, ttl: 5, layout });
    cleanup.unshift(() => instance.close().catch(() => undefined));
    log(`registered ${name} (weight ${weight}) at ${instance.key}`);
  }
  const counts = {};
  const total = 1000;
  for (let i = 0; i < total && !signal.aborted; i++) {
    const { backend } = await (await fetch(`${url}/svc/demo/hello`)).json();
    counts[backend] = (counts[backend] ?? 0) + 1;
  }
  log(`\n${total} requests to ${url}/svc/demo/hello:`);
  for (const [name, weight] of Object.entries(weights)) {
    const n = counts[name] ?? 0;
    log(`  ${name}  weight ${weight}  ${String(n).padStart(4)}  ${'#'.repeat(Math.round(n / 10))}`);
  }
  log(`\nTry: curl -i ${url}/svc/demo/anything   (Ctrl-C stops everything)`);
}

// `npm start`: the Node gateway on 127.0.0.1:8787 (PORT or --port to change,
// --host to listen elsewhere) and a hello backend to try it with. Without
// ETCD_ENDPOINTS it runs a private local etcd first. `npm run demo` (--demo)
// registers three demo backends with weights 5/3/2 instead and shows the spread.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, watchParent } from '../dist/cli/main.js';
import { startLocalEtcd } from './local-etcd.mjs';
import { checkPort } from './port-check.mjs';
import { runDemo, startBackend, tryItSteps } from './try-it.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demo = process.argv.includes('--demo');
const given = process.argv.slice(2).filter((arg) => arg !== '--demo');
// A try-it command listens on this machine only, unless --host says otherwise.
const serveArgs = given.some((arg) => arg === '--host' || arg.startsWith('--host=')) ? given : ['--host', '127.0.0.1', ...given];
const log = (text) => process.stderr.write(`${text}\n`);
const controller = new AbortController();
const cleanup = [];
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => controller.abort());
// `kill <npm pid>` reaches npm's shell, not this process: stop when npm is gone.
watchParent(() => controller.abort());
// A closed terminal or pipe (EPIPE) must not cut the clean-up short and leave etcd running.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

/** Loopback instances are denied by default; a try-it gateway's backends are all on 127.0.0.1. */
function loopbackEnv(env) {
  env.ETCD_EDGE_ALLOW_LOOPBACK ??= 'true';
  return /^(on|true|1)$/i.test(env.ETCD_EDGE_ALLOW_LOOPBACK)
    ? `loopback instances allowed (ETCD_EDGE_ALLOW_LOOPBACK=${env.ETCD_EDGE_ALLOW_LOOPBACK}, for development); production keeps them denied`
    : `loopback instances denied (ETCD_EDGE_ALLOW_LOOPBACK=${env.ETCD_EDGE_ALLOW_LOOPBACK}): backends on 127.0.0.1 are skipped`;
}

async function run() {
  await checkPort(serveArgs, process.env);
  const env = { ...process.env };
  const loopback = loopbackEnv(env);
  const ownEtcd = !env.ETCD_ENDPOINTS;
  if (ownEtcd) {
    const etcd = await startLocalEtcd(process.env.ETCD_EDGE_LOCAL_DIR ?? join(root, '.etcd-edge'), log);
    cleanup.push(() => etcd.stop());
    env.ETCD_ENDPOINTS = etcd.endpoint;
    log(`local etcd on ${etcd.endpoint} (data in ${etcd.dataDir})`);
  }
  if (controller.signal.aborted) return 0;
  let listening;
  const ready = new Promise((resolve) => (listening = resolve));
  const out = {
    write(text) {
      process.stdout.write(text);
      const url = /listening on (\S+)/.exec(text)?.[1];
      if (url) listening(url);
    },
  };
  const serving = main(['serve', ...serveArgs], { env, signal: controller.signal, out });
  const url = await Promise.race([ready, serving.then(() => undefined)]);
  if (url) {
    log(loopback);
    if (demo) await runDemo({ url, endpoints: env.ETCD_ENDPOINTS, ownEtcd, log, cleanup, signal: controller.signal });
    else await tryIt(url, env, ownEtcd);
  }
  return serving;
}

async function tryIt(gatewayUrl, env, ownEtcd) {
  const hello = await startBackend((req) => ({ hello: 'from the etcd-edge try-it backend', method: req.method, path: req.url }));
  cleanup.unshift(hello.close);
  const steps = tryItSteps({ gatewayUrl, backendUrl: hello.url, endpoints: env.ETCD_ENDPOINTS, ownEtcd, credentials: env.ETCD_USERNAME !== undefined });
  log(`\n${steps.join('\n')}`);
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

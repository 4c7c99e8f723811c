// etcd-edge started the way users start it: `etcd-edge serve` on Node, and
// the Worker under `wrangler dev` (workerd), both as separate process trees.
import { join } from 'node:path';
import { freePort, spawnChild, waitFor } from './processes.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;

/** This process's environment less anything that would change the gateway's behaviour, plus `extra`. */
export function gatewayEnv(extra) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(ETCD_EDGE_|ETCD_|ADMIN_TOKEN$|PORT$)/.test(name)) delete env[name];
  return { ...env, ...extra };
}

/**
 * `etcd-edge serve` on loopback, with `args` after the listener's flags
 * (`['--workers', '2']`). Resolves once it listens; `ready` (a path) also
 * waits for a 200 through it, so the service's snapshot is loaded.
 */
export async function startServe({ etcdUrl, env = {}, cpus, ready, args = [] }) {
  const port = await freePort();
  const child = spawnChild(process.execPath, [join(ROOT, 'bin/etcd-edge.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), ...args], {
    cpus,
    env: gatewayEnv({ ETCD_ENDPOINTS: etcdUrl, ETCD_EDGE_STRATEGY: 'weighted-random', ETCD_EDGE_ALLOW_LOOPBACK: 'true', ...env }),
    inheritEnv: false,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}${ready ?? '/'}`)).status === (ready ? 200 : 404), 'etcd-edge serve', { child, ms: 60_000 });
  return { url, pid: child.pid, child, stop: () => child.stop() };
}

/** `wrangler dev` serving the Worker (cache mode, 2 s TTL, as wrangler.toml sets) on loopback. */
export async function startWranglerDev({ etcdUrl, cpus, ready }) {
  const [port, inspector] = [await freePort(), await freePort()];
  const child = spawnChild(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'dev',
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--var', `ETCD_ENDPOINTS:${etcdUrl}`, '--var', 'ETCD_EDGE_CACHE_TTL_MS:2000', '--var', 'ETCD_EDGE_ALLOW_LOOPBACK:true',
    // Without this wrangler logs every request, which costs more than the Worker itself.
    '--log-level', 'error', '--show-interactive-dev-session=false'], {
    cpus,
    cwd: ROOT,
    env: gatewayEnv({ CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', CI: 'true' }),
    inheritEnv: false,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}${ready}`)).status === 200, 'wrangler dev', { child, ms: 90_000 });
  return { url, pid: child.pid, child, stop: () => child.stop() };
}

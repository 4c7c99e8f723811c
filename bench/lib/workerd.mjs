// The Worker in workerd alone, without wrangler dev's proxy in front of it:
// the bundle `wrangler deploy --dry-run` builds, served by the workerd binary
// wrangler installs, from a config written here. Beside it, a bare
// passthrough Worker in the same runtime: what workerd costs to receive a
// request and fetch it from the backend, the floor for the gateway there.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dryRunBundle } from './footprint.mjs';
import { freePort, spawnChild, waitFor } from './processes.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
export const WORKERD = join(ROOT, 'node_modules/workerd/bin/workerd');
/** wrangler.toml's compatibility_date. */
const COMPATIBILITY_DATE = '2026-04-01';
/** wrangler.toml's top-level [vars]: what `wrangler dev` and the dry-run bundle run with. */
const WRANGLER_VARS = { ETCD_EDGE_LAYOUTS: 'native', ETCD_EDGE_PREFIX: 'services/', ETCD_EDGE_CACHE_TTL_MS: '2000', ETCD_EDGE_STRATEGY: 'weighted-random' };

/** Every request to the backend origin `env.BACKEND`, path and query kept, nothing added. */
export const PASSTHROUGH_WORKER = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.BACKEND + url.pathname + url.search, request);
  },
};
`;

const text = (value) => JSON.stringify(String(value));

/**
 * A workerd config (Cap'n Proto text) for one ES-module Worker listening on
 * 127.0.0.1:`port`. `modules` are file names beside the config, the first
 * the entry point; `vars` become text bindings; `hub` binds the SnapshotHub
 * Durable Object as ETCD_EDGE_HUB (in memory), as wrangler.toml does. Its
 * global fetch may reach loopback and private addresses (workerd's default
 * network allows only public ones), which the benchmark's etcd and nginx are.
 */
export function workerdConfig({ modules, port, vars = {}, hub = false }) {
  const bindings = Object.entries(vars).map(([name, value]) => `(name = ${text(name)}, text = ${text(value)})`);
  if (hub) bindings.push('(name = "ETCD_EDGE_HUB", durableObjectNamespace = (className = "SnapshotHub"))');
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = ${text(`127.0.0.1:${port}`)}, http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [${modules.map((m) => `(name = ${text(m)}, esModule = embed ${text(m)})`).join(', ')}],
  compatibilityDate = ${text(COMPATIBILITY_DATE)},
  bindings = [${bindings.join(', ')}],
${hub ? '  durableObjectNamespaces = [(className = "SnapshotHub", uniqueKey = "etcd-edge-bench-SnapshotHub", enableSql = true)],\n  durableObjectStorage = (inMemory = void),\n' : ''});
`;
}

/**
 * workerd serving the Worker whose `modules` lie in `dir`, on `cpus`, `args`
 * added to its own (`--inspector-addr=...`). Resolves once a GET of `ready`
 * answers 200; `stop()` ends it and removes `dir`.
 */
export async function startWorkerd({ dir, modules, vars, hub, cpus, ready = '/', args = [] }) {
  const port = await freePort();
  writeFileSync(join(dir, 'config.capnp'), workerdConfig({ modules, port, vars, hub }));
  const child = spawnChild(WORKERD, ['serve', join(dir, 'config.capnp'), 'config', ...args], { cpus, cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${url}${ready}`)).status === 200, 'workerd', { child, ms: 30_000 });
  } catch (error) {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    pid: child.pid,
    child,
    dir,
    async stop() {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The etcd-edge Worker in workerd alone: the dry-run bundle with wrangler.toml's
 * vars (cache mode, 2 s TTL), the hub bound, etcd at `etcdUrl`, loopback
 * instances allowed; `env`, more vars. `bundle` carries the bundle's size.
 * `wranglerArgs` and `workerdArgs` go to the build and to workerd.
 */
export async function startWorkerdGateway({ etcdUrl, cpus, ready, env = {}, wranglerArgs, workerdArgs }) {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-bench-workerd-'));
  const bundle = await dryRunBundle(dir, wranglerArgs);
  const vars = { ...WRANGLER_VARS, ETCD_ENDPOINTS: etcdUrl, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ...env };
  return { ...(await startWorkerd({ dir, modules: bundle.modules, vars, hub: true, cpus, ready, args: workerdArgs })), bundle };
}

/** The bare passthrough Worker in workerd alone, in front of `backend` (an origin). */
export async function startWorkerdPassthrough({ backend, cpus, workerdArgs }) {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-bench-workerd-'));
  writeFileSync(join(dir, 'passthrough.js'), PASSTHROUGH_WORKER);
  return startWorkerd({ dir, modules: ['passthrough.js'], vars: { BACKEND: backend }, cpus, args: workerdArgs });
}

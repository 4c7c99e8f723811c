// The Worker in workerd for the benchmarks, through Miniflare (what wrangler's
// local runtime runs on): one bundle of src/adapters/worker, and several
// Workers in one workerd process that share the first one's SnapshotHub, so
// a second cold isolate can meet a hub that is already warm.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { Log, LogLevel, Miniflare } from 'miniflare';

const ROOT = new URL('../..', import.meta.url).pathname;
const COMPATIBILITY_DATE = '2026-04-01';

/** src/adapters/worker bundled as wrangler bundles it (ES module, `cloudflare:*` left to workerd). */
export async function bundleWorker() {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-edge-worker-bundle-'));
  const outfile = join(dir, 'worker.mjs');
  await build({
    entryPoints: [join(ROOT, 'src/adapters/worker/index.ts')],
    bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', outfile,
    external: ['cloudflare:*', 'node:*'], conditions: ['workerd', 'worker', 'browser'], mainFields: ['module', 'main'], logLevel: 'error',
  });
  return { path: outfile, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Workers `names[0]`, `names[1]`, … in one workerd process, each with `vars`;
 * with `hub`, the first one hosts the SnapshotHub and every one binds it as
 * ETCD_EDGE_HUB (one hub for all, as isolates of one Worker share it).
 * Resolves once workerd answers; no Worker has been asked anything yet.
 */
export async function startWorkers({ bundle, names, vars, hub }) {
  const workers = names.map((name, i) => ({
    name,
    modules: true,
    scriptPath: bundle.path,
    modulesRoot: dirname(bundle.path),
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: vars,
    ...(hub ? { durableObjects: { ETCD_EDGE_HUB: i === 0 ? { className: 'SnapshotHub', useSQLite: true } : { className: 'SnapshotHub', scriptName: names[0], useSQLite: true } } } : {}),
  }));
  const mf = new Miniflare({ workers, log: new Log(LogLevel.ERROR), host: '127.0.0.1', port: 0, cf: false });
  await mf.ready;
  return {
    fetch: async (name, url) => (await mf.getWorker(name)).fetch(url),
    dispose: () => mf.dispose(),
  };
}

// What it costs to ship and to start: the Worker bundle as wrangler would
// upload it, and the Node gateway's time from spawn to its first proxied answer.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { gatewayEnv } from './etcd-edge.mjs';
import { freePort, run, sleep, spawnChild } from './processes.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;

/** The project's budget for the Worker bundle, gzipped at level 9 (test/worker-deploy.test.ts holds the same). */
export const BUNDLE_BUDGET_KIB = 64;

/**
 * Builds the Worker into `outdir` as `wrangler deploy --dry-run` uploads it
 * (wrangler.toml's top-level environment), `args` added to wrangler's
 * (`['--no-minify']` for a profile with names); resolves with its module
 * files and their size, raw and gzipped (KiB).
 */
export async function dryRunBundle(outdir, args = []) {
  await run(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir, ...args], {
    cwd: ROOT,
    env: { WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  });
  const modules = readdirSync(outdir).filter((f) => /\.m?js$/.test(f));
  const code = Buffer.concat(modules.map((f) => readFileSync(join(outdir, f))));
  return { modules, rawKiB: code.length / 1024, gzipKiB: gzipSync(code, { level: 9 }).length / 1024 };
}

/** The JavaScript of `wrangler deploy --dry-run`, raw and gzipped (KiB). */
export async function workerBundle() {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-bench-bundle-'));
  try {
    const { rawKiB, gzipKiB } = await dryRunBundle(dir);
    return { rawKiB, gzipKiB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether a GET answers 200; false while nothing listens yet. */
const answers200 = (url) =>
  new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
  });

/** ms from spawning `etcd-edge serve` to its first 200 through `path`, median of `times`. */
export async function coldStart({ etcdUrl, path, cpus, times = 5 }) {
  const results = [];
  for (let i = 0; i < times; i++) {
    const port = await freePort();
    const started = performance.now();
    const child = spawnChild(process.execPath, [join(ROOT, 'bin/etcd-edge.js'), 'serve', '--host', '127.0.0.1', '--port', String(port)], {
      cpus,
      env: gatewayEnv({ ETCD_ENDPOINTS: etcdUrl, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ETCD_EDGE_WATCH: 'on', ETCD_EDGE_STRATEGY: 'weighted-random' }),
      inheritEnv: false,
    });
    try {
      while (!(await answers200(`http://127.0.0.1:${port}${path}`))) {
        if (child.exited() || performance.now() - started > 30_000) throw new Error(`etcd-edge serve did not answer:\n${child.output().slice(-2_000)}`);
        await sleep(2);
      }
      results.push(performance.now() - started);
    } finally {
      await child.stop();
    }
  }
  results.sort((a, b) => a - b);
  return { medianMs: results[Math.floor(results.length / 2)], minMs: results[0], maxMs: results.at(-1) };
}

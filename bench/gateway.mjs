// The gateway under load on loopback, against the backend directly, from one
// run: `npm run bench:gateway` rewrites its section of BENCHMARKS.md.
// Contenders: direct; `etcd-edge serve` in cache mode (2 s TTL) and watch
// mode; the Worker under workerd (wrangler's local runtime). Also counts
// etcd's range calls during each run from its own /metrics.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { EtcdClient, nativeLayout } from '../dist/index.js';
import { startEtcd } from './lib/etcd.mjs';
import { freePort, spawnChild, waitFor } from './lib/processes.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const WARMUP_MS = 2_000;
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 8_000);
const CONCURRENCY = [1, 16];

async function startBackends(count) {
  const ports = await Promise.all(Array.from({ length: count }, freePort));
  const script = `const body = Buffer.alloc(1024, 120);
    for (const port of ${JSON.stringify(ports)}) require('http').createServer((q, r) => { q.resume(); r.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1024 }); r.end(body); }).listen(port, '127.0.0.1');`;
  spawnChild(process.execPath, ['-e', script]);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${ports[0]}/`)).ok, 'backend');
  return ports.map((p) => `http://127.0.0.1:${p}`);
}

async function startServe(etcdUrl, env) {
  const serve = spawnChild(process.execPath, [join(ROOT, 'bin/etcd-edge.js'), 'serve', '--port', '0', '--host', '127.0.0.1'], { env: { ETCD_ENDPOINTS: etcdUrl, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ...env } });
  await waitFor(async () => /listening on/.test(serve.output()), 'etcd-edge serve', { child: serve });
  return { url: /listening on (\S+)/.exec(serve.output())[1], stop: () => serve.stop('SIGTERM') };
}

async function startWorkerd(etcdUrl) {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
  const { unstable_startWorker } = await import('wrangler');
  const worker = await unstable_startWorker({
    name: 'etcd-edge-bench',
    entrypoint: join(ROOT, 'src/adapters/worker/index.ts'),
    compatibilityDate: '2026-04-01',
    bindings: { ETCD_ENDPOINTS: { type: 'plain_text', value: etcdUrl }, ETCD_EDGE_CACHE_TTL_MS: { type: 'plain_text', value: '2000' }, ETCD_EDGE_ALLOW_LOOPBACK: { type: 'plain_text', value: 'true' } },
    // Without this, wrangler logs every request, which costs more than the Worker itself.
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, watch: false, logLevel: 'error' },
  });
  return { url: (await worker.url).origin, stop: () => worker.dispose() };
}

async function rangeCalls(etcdUrl) {
  const text = await (await fetch(`${etcdUrl}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_range_total (\S+)$/m.exec(text)?.[1] ?? NaN);
}

/** `concurrency` loops of GET `path` for `ms`; latencies in µs, and Server-Timing discovery figures sampled. */
async function load(origin, path, concurrency, ms) {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const latencies = [];
  const discovery = [];
  let errors = 0;
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path, method: 'GET' });
        await res.body.dump();
        if (res.statusCode !== 200) errors++;
        const timing = res.headers['server-timing'];
        if (timing && latencies.length % 50 === 0) discovery.push(Number(/discovery;dur=([\d.]+)/.exec(timing)?.[1]));
      } catch {
        errors++;
      }
      latencies.push((performance.now() - t0) * 1000);
    }
  }));
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  discovery.sort((a, b) => a - b);
  return { rps: latencies.length / (ms / 1000), p50: at(0.5), p99: at(0.99), errors, discoveryUs: discovery.length ? discovery[Math.floor(discovery.length / 2)] * 1000 : undefined };
}

async function measure(name, origin, path, etcdUrl) {
  const rows = [];
  for (const concurrency of CONCURRENCY) {
    await load(origin, path, concurrency, WARMUP_MS);
    const before = await rangeCalls(etcdUrl);
    const result = await load(origin, path, concurrency, RUN_MS);
    const ranges = (await rangeCalls(etcdUrl)) - before;
    rows.push({ name, concurrency, ...result, ranges });
    console.error(`${name} c=${concurrency}: ${Math.round(result.rps)} req/s, p50 ${result.p50.toFixed(0)} µs, p99 ${result.p99.toFixed(0)} µs, ${ranges} ranges, ${result.errors} errors`);
  }
  return rows;
}

const etcd = await startEtcd();
const rows = [];
try {
  const backends = await startBackends(3);
  const client = new EtcdClient({ endpoints: [etcd.url] });
  for (const url of backends) {
    const record = nativeLayout().encode({ service: 'bench', url, weight: 1 });
    await client.put(record.key, record.value);
  }
  rows.push(...(await measure('direct to the backend', backends[0], '/', etcd.url)));
  for (const [name, env] of [['etcd-edge serve, cache mode (2 s TTL)', { ETCD_EDGE_WATCH: 'off', ETCD_EDGE_CACHE_TTL_MS: '2000' }], ['etcd-edge serve, watch mode', { ETCD_EDGE_WATCH: 'on' }]]) {
    const gw = await startServe(etcd.url, env);
    rows.push(...(await measure(name, gw.url, '/svc/bench/', etcd.url)));
    await gw.stop();
  }
  const worker = await startWorkerd(etcd.url);
  rows.push(...(await measure('Worker in workerd (wrangler), cache mode (2 s TTL)', worker.url, '/svc/bench/', etcd.url)));
  await worker.stop();
} finally {
  await etcd.stop();
}

const direct = Object.fromEntries(rows.filter((r) => r.name.startsWith('direct')).map((r) => [r.concurrency, r]));
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const lines = [
  '<!-- gateway:start -->',
  `Measured by \`npm run bench:gateway\` on ${cpus().length}× ${cpus()[0].model.trim()}, Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}: `
    + `a 1 KiB backend (three instances registered, weighted-random), the load generator, etcd and the gateway all on this machine, ${RUN_MS / 1000} s per run after ${WARMUP_MS / 1000} s of warm-up.`,
  '',
  '| contender | connections | req/s | ratio to direct | p50 | p99 | discovery (median) | etcd ranges in the run | errors |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.name} | ${r.concurrency} | ${fmt(r.rps)} | ${(r.rps / direct[r.concurrency].rps).toFixed(2)} | ${(r.p50 / 1000).toFixed(2)} ms | ${(r.p99 / 1000).toFixed(2)} ms | ${r.discoveryUs === undefined ? '—' : `${r.discoveryUs.toFixed(0)} µs`} | ${r.ranges} | ${r.errors} |`),
  '',
  `In cache mode one service is read about once per 2 s per process whatever the request rate (${RUN_MS / 1000} s → about ${RUN_MS / 2000}), and never in watch mode.`,
  'Discovery is the median `Server-Timing: discovery` (lookup + selection) of sampled responses; workerd reports 0 because a Worker\'s clock only moves on I/O.',
  '<!-- gateway:end -->',
];
const file = new URL('../BENCHMARKS.md', import.meta.url);
const current = readFileSync(file, 'utf8');
const section = lines.join('\n');
const updated = current.includes('<!-- gateway:start -->')
  ? current.replace(/<!-- gateway:start -->[\s\S]*<!-- gateway:end -->/, section)
  : `${current.trimEnd()}\n\n## Gateway (\`npm run bench:gateway\`)\n\nRequests per second and latency through the gateway compared with the same\nload sent to the backend directly, in one run. Loopback only; the load\ngenerator competes with the gateway for the two cores, so ratios mean more\nthan absolute numbers.\n\n${section}\n`;
writeFileSync(file, updated);
console.log(section);
process.exit(0);

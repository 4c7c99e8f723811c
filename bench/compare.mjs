// etcd-edge beside the proxies users would pick instead, on this machine, in
// one run: `npm run bench` rewrites its section of BENCHMARKS.md and
// bench/latency.svg. wrk, the nginx backend and etcd run on core 0, the proxy
// under test alone on core 1. Environment (for quick runs):
//   BENCH_RUN_S=10 BENCH_WARMUP_S=3 BENCH_ROUNDS=3 BENCH_CONCURRENCY=1,16,64
//   BENCH_ONLY=direct,nginx,fastify,etcd-edge,http-proxy,undici,workerd,workerd-bare,worker
//   BENCH_DISCOVERY_S=10 BENCH_DROP_S=5 BENCH_TRIES=3 BENCH_NOISE=0.05 BENCH_STEAL=0.05
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { selectedContenders } from './lib/contenders.mjs';
import { measureDiscovery } from './lib/discovery.mjs';
import { dropConnections, settledSockets } from './lib/disconnects.mjs';
import { registerInstances, startEtcd } from './lib/etcd.mjs';
import { startServe } from './lib/etcd-edge.mjs';
import { coldStart, workerBundle } from './lib/footprint.mjs';
import { startBackend } from './lib/nginx.mjs';
import { freePort } from './lib/processes.mjs';
import { processTree } from './lib/procfs.mjs';
import { writeReport } from './lib/report.mjs';
import { loadRounds } from './lib/rounds.mjs';
import { ensureTools } from './lib/tools.mjs';

const numbers = (text) => text.split(',').map(Number);
const settings = {
  runS: Number(process.env.BENCH_RUN_S ?? 10),
  warmupS: Number(process.env.BENCH_WARMUP_S ?? 3),
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  concurrency: numbers(process.env.BENCH_CONCURRENCY ?? '1,16,64'),
  discoveryS: Number(process.env.BENCH_DISCOVERY_S ?? 10),
  dropS: Number(process.env.BENCH_DROP_S ?? 5),
  tries: Number(process.env.BENCH_TRIES ?? 3),
  noise: Number(process.env.BENCH_NOISE ?? 0.05),
  steal: Number(process.env.BENCH_STEAL ?? 0.05),
};
const LOAD_CPUS = '0';
const PROXY_CPUS = '1';
const contenders = selectedContenders();
const has = (key) => contenders.some((c) => c.key === key);

ensureTools();
// This process (and so everything it starts without taskset) stays off the proxy's core.
execFileSync('taskset', ['-apc', LOAD_CPUS, String(process.pid)], { stdio: 'ignore' });

const etcd = await startEtcd({ cpus: LOAD_CPUS });
const results = { settings, contenders: contenders.map(({ key, name, label }) => ({ key, name, label })) };
try {
  // One port for the non-discovering proxies, three for etcd-edge's instances.
  const backend = await startBackend(await Promise.all([0, 1, 2, 3].map(freePort)), { cpus: LOAD_CPUS });
  await registerInstances(etcd.url, 'bench', backend.urls.slice(1), 3);
  Object.assign(results, await loadPhase(backend.urls[0], etcd.url));
  if (has('etcd-edge')) results.coldStart = await coldStart({ etcdUrl: etcd.url, path: '/svc/bench/', cpus: PROXY_CPUS });
  if (has('worker') || has('workerd')) results.bundle = await workerBundle();
  if (has('etcd-edge')) results.discovery = await discoveryPhase(etcd.url, backend.urls.slice(1));
  await backend.stop();
} finally {
  await etcd.stop();
}
await writeReport(results);
process.exit(0);

/** Starts every contender, runs the rounds, then the dropped-connection round against the gateways. */
async function loadPhase(backendUrl, etcdUrl) {
  const started = [];
  try {
    for (const contender of contenders) {
      started.push({ ...contender, ...(await contender.start({ backend: backendUrl, etcdUrl, cpus: PROXY_CPUS })) });
    }
    const gateways = started.filter((c) => c.gateway);
    const health = {};
    for (const g of gateways) health[g.key] = { pids: processTree(g.pid), socketsAtStart: await settledSockets(g.pid, 2_000) };
    const runs = await loadRounds(started, { ...settings, etcdUrl });
    for (const g of gateways) {
      const drops = await dropConnections({ origin: g.url, path: g.path, largePath: `${g.path}large`, pid: g.pid, seconds: settings.dropS });
      const alive = new Set(processTree(g.pid));
      const restarts = health[g.key].pids.filter((pid) => !alive.has(pid)).length;
      health[g.key] = { ...health[g.key], ...drops, restarts, pids: undefined };
      console.error(`${g.key}: ${drops.requests} dropped requests, sockets ${drops.before} → ${drops.after}, ${restarts} restarts, answers after: ${drops.answersAfter}`);
    }
    return { runs, health };
  } finally {
    for (const c of started) await c.stop();
  }
}

/** Lookup + selection and etcd reads at 10 and 10,000 instances, in cache mode and in watch mode. */
async function discoveryPhase(etcdUrl, instanceUrls) {
  const sizes = [['few', 10], ['many', 10_000]];
  for (const [service, count] of sizes) await registerInstances(etcdUrl, service, instanceUrls, count);
  const rows = [];
  for (const [mode, env] of [['cache', { ETCD_EDGE_WATCH: 'off', ETCD_EDGE_CACHE_TTL_MS: '2000' }], ['watch', { ETCD_EDGE_WATCH: 'on' }]]) {
    const gateway = await startServe({ etcdUrl, env, cpus: PROXY_CPUS });
    try {
      for (const [service, count] of sizes) {
        const path = `/svc/${service}/`;
        // The first request loads the snapshot; the figures are for the steady state after it.
        await measureDiscovery({ origin: gateway.url, path, etcdUrl, seconds: Math.min(2, settings.discoveryS) });
        // One connection gives discovery's own cost; 16 show it amid concurrent requests.
        for (const connections of [1, 16]) {
          const row = { mode, instances: count, connections, ...(await measureDiscovery({ origin: gateway.url, path, etcdUrl, seconds: settings.discoveryS, connections })) };
          rows.push(row);
          console.error(`discovery ${mode} ${count} c=${connections}: mean ${row.meanUs.toFixed(1)} µs, p50 ${row.p50Us.toFixed(0)} µs, ${row.ranges} range calls in ${settings.discoveryS} s, ${row.errors} errors`);
        }
      }
    } finally {
      await gateway.stop();
    }
  }
  return rows;
}

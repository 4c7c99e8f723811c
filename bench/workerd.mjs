// The Worker in workerd alone beside a bare passthrough Worker in the same
// runtime: CPU per request of each and their ratio (target: the gateway at
// most 1.5× the passthrough), req/s, and the bundle's gzipped size against
// its 64 KiB budget. wrk, the nginx backend and etcd on core 0, workerd on
// core 1. `npm run bench:workerd` rewrites its section of BENCHMARKS.md.
// The VM drifts, so the two run in alternating rounds (gateway first in odd
// rounds, passthrough first in even ones) and the ratio is taken per round;
// MODE=together loads both at once on core 1 instead, as side-by-side.mjs
// does (CPU only: they split the core, so req/s is not theirs alone).
//   ROUNDS=5 SECONDS=4 WARMUP_S=1 CONNECTIONS=16,64 MODE=alternate|together WRITE=1
//   VARS=NAME=value,...   extra vars for the gateway (e.g. ETCD_EDGE_USE_HUB=off)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { CONTENDERS } from './lib/contenders.mjs';
import { registerInstances, startEtcd } from './lib/etcd.mjs';
import { BUNDLE_BUDGET_KIB } from './lib/footprint.mjs';
import { startBackend } from './lib/nginx.mjs';
import { freePort } from './lib/processes.mjs';
import { TICKS_PER_SECOND, treeTicks } from './lib/procfs.mjs';
import { median } from './lib/summary.mjs';
import { ensureTools } from './lib/tools.mjs';
import { measuredRun, warmUp, wrk } from './lib/wrk.mjs';
import { startWorkerdGateway } from './lib/workerd.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 4);
const WARMUP_S = Number(process.env.WARMUP_S ?? 1);
const LEVELS = (process.env.CONNECTIONS ?? '16,64').split(',').map(Number);
const MODE = process.env.MODE ?? 'alternate';
const VARS = Object.fromEntries((process.env.VARS ?? '').split(',').filter(Boolean).map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
const FILE = new URL('../BENCHMARKS.md', import.meta.url);
const [START, END] = ['<!-- workerd:start -->', '<!-- workerd:end -->'];
const TARGET = 1.5;

ensureTools();
execFileSync('taskset', ['-apc', '0', String(process.pid)], { stdio: 'ignore' });
const etcd = await startEtcd({ cpus: '0' });
const backend = await startBackend(await Promise.all([0, 1, 2, 3].map(freePort)), { cpus: '0' });
await registerInstances(etcd.url, 'bench', backend.urls.slice(1), 3);

const started = [];
let failed = false;
try {
  const [gatewayKey, bareKey] = ['workerd', 'workerd-bare'];
  const gateway = { ...CONTENDERS.find((c) => c.key === gatewayKey), ...(await startWorkerdGateway({ etcdUrl: etcd.url, cpus: '1', ready: '/svc/bench/', env: VARS })) };
  const bareContender = CONTENDERS.find((c) => c.key === bareKey);
  const bare = { ...bareContender, ...(await bareContender.start({ backend: backend.urls[0], cpus: '1' })) };
  started.push(gateway, bare);
  const pair = [gateway, bare];
  const rows = [];
  for (const connections of LEVELS) {
    for (const c of pair) await warmUp(`${c.url}${c.path}`, connections, 2); // the JIT settles
    const rounds = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const runs = MODE === 'together' ? await together(pair, connections) : await alternate(r % 2 ? pair : [bare, gateway], connections);
      const [g, b] = [runs.get(gateway), runs.get(bare)];
      rounds.push({ g, b, ratio: g.cpuPer10k / b.cpuPer10k });
      console.error(`c=${connections} round ${r}: gateway ${g.cpuPer10k.toFixed(3)} s/10k, ${Math.round(g.rps)} req/s; passthrough ${b.cpuPer10k.toFixed(3)} s/10k, ${Math.round(b.rps)} req/s; ratio ${(g.cpuPer10k / b.cpuPer10k).toFixed(3)}`);
    }
    rows.push({ connections, rounds });
  }
  const bundle = gateway.bundle;
  failed = bundle.gzipKiB >= BUNDLE_BUDGET_KIB;
  const section = report(rows, bundle);
  console.log(section);
  if (process.env.WRITE !== '0') {
    const current = readFileSync(FILE, 'utf8');
    if (current.includes(START)) writeFileSync(FILE, current.replace(new RegExp(`${START}[\\s\\S]*${END}`), () => section));
  }
} finally {
  for (const c of started) await c.stop();
  await backend.stop();
  await etcd.stop();
}
process.exit(failed ? 1 : 0);

/** Each contender alone on core 1 in turn, in the given order: CPU per request and req/s of its own. */
async function alternate(order, connections) {
  const runs = new Map();
  for (const c of order) {
    await warmUp(`${c.url}${c.path}`, connections, WARMUP_S);
    runs.set(c, await measuredRun({ url: `${c.url}${c.path}`, connections, seconds: SECONDS, proxyPid: c.pid }));
  }
  return runs;
}

/** Both loaded at once on core 1, each by its own wrk: they share the core's speed in every round. */
async function together(pair, connections) {
  const before = pair.map((c) => treeTicks([c.pid]));
  const results = await Promise.all(pair.map((c) => wrk(`${c.url}${c.path}`, connections, SECONDS)));
  return new Map(pair.map((c, i) => {
    const cpuS = (treeTicks([c.pid]) - before[i]) / TICKS_PER_SECOND;
    return [c, { rps: results[i].requests / (results[i].durationUs / 1e6), cpuPer10k: (cpuS / results[i].requests) * 10_000, latencyUs: results[i].latencyUs, unexplainedCore: 0, stealCore: 0 }];
  }));
}

function report(rows, bundle) {
  const int = (n) => Math.round(n).toLocaleString('en-US');
  const ms = (us) => `${(us / 1000).toFixed(2)} ms`;
  const lines = [
    START,
    `Measured by \`npm run bench:workerd\` (${MODE === 'together' ? 'both at once on core 1' : 'alternating rounds'}, ${ROUNDS} rounds of ${SECONDS} s${MODE === 'together' ? '' : ` after ${WARMUP_S} s of warm-up each`}) on ${new Date().toISOString().slice(0, 10)}, workerd ${execFileSync(new URL('../node_modules/workerd/bin/workerd', import.meta.url).pathname, ['--version'], { encoding: 'utf8' }).trim().replace('workerd ', '')}${Object.keys(VARS).length ? `, gateway vars ${JSON.stringify(VARS)}` : ''}.`,
    '',
    `| contender | connections | CPU s / 10k req, median [min–max] | req/s median [min–max]${MODE === 'together' ? ' (sharing core 1)' : ''} | p50 | p99 |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  const range = (values, f) => `${f(median(values))} [${f(Math.min(...values))}–${f(Math.max(...values))}]`;
  for (const { connections, rounds } of rows) {
    for (const [name, pick] of [['etcd-edge Worker (workerd alone)', (r) => r.g], ['bare passthrough Worker (workerd alone)', (r) => r.b]]) {
      const runs = rounds.map(pick);
      lines.push(`| ${name} | ${connections} | ${range(runs.map((r) => r.cpuPer10k), (n) => n.toFixed(2))} | ${range(runs.map((r) => r.rps), int)} | ${ms(median(runs.map((r) => r.latencyUs.p50)))} | ${ms(median(runs.map((r) => r.latencyUs.p99)))} |`);
    }
  }
  lines.push('');
  for (const { connections, rounds } of rows) {
    const ratios = rounds.map((r) => r.ratio);
    const m = median(ratios);
    const disturbance = Math.max(...rounds.flatMap((r) => [r.g.unexplainedCore + r.g.stealCore, r.b.unexplainedCore + r.b.stealCore]));
    lines.push(`- ${m <= TARGET ? '✓' : '✗'} CPU per request ≤ ${TARGET}× the bare passthrough Worker's at ${connections} connections: ${m.toFixed(2)}× [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}] over ${rounds.length} rounds, round by round${MODE === 'together' ? '' : `; at most ${Math.round(disturbance * 100)} % of a core used outside the benchmark or stolen during a run`}`);
  }
  lines.push(`- ${bundle.gzipKiB < BUNDLE_BUDGET_KIB ? '✓' : '✗'} Worker bundle < ${BUNDLE_BUDGET_KIB} KiB gzipped (\`wrangler deploy --dry-run --outdir\`, level 9): ${bundle.gzipKiB.toFixed(1)} KiB (${bundle.rawKiB.toFixed(1)} KiB raw)`);
  lines.push(END);
  return lines.join('\n');
}

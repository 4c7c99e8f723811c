// `etcd-edge serve --workers N` beside nginx with `worker_processes N`, in one
// run (issue 26 item 5): `npm run bench:cores` prints, and writes between its
// markers in BENCHMARKS.md, req/s, latency and CPU per request of each proxy's
// whole process tree (primary + workers, master + workers), the primary's own
// share of it, where the machine's CPU went, and etcd's watcher count while
// each etcd-edge ran (one per watched service is the goal, whatever N).
//
// Layout: wrk (one thread), the nginx backend (1 KiB body) and etcd on core 0;
// the proxy on the last N cores, so at N = every core it shares core 0 with the
// load. On a 2-core machine N = 2 therefore competes with the load generator:
// req/s is bounded by the machine, and CPU per request is the figure that
// compares. The load side is one core, so beyond a few workers req/s says more
// about wrk than about the proxy; ../shared/bench/many-core/run.sh gives the
// load its own cores on a many-core host.
//
// Environment: COUNTS=1,2,4 (default: 1, 2, 4, … up to the cores there are)
//   BENCH_RUN_S=6 BENCH_WARMUP_S=4 BENCH_ROUNDS=3 BENCH_CONNECTIONS=64
//   BENCH_TRIES=2 BENCH_NOISE=0.05 (a run during which other processes used
//   more than that share of a core is repeated; the quieter one is kept, † if
//   neither was quiet) BENCH_QUIET_WAIT_S=90 (how long, over the whole run,
//   to wait for other processes to go quiet before a run)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release } from 'node:os';
import { registerInstances, startEtcd } from './lib/etcd.mjs';
import { startServe } from './lib/etcd-edge.mjs';
import { startBackend, startNginxProxy } from './lib/nginx.mjs';
import { freePort, sleep, waitFor } from './lib/processes.mjs';
import { machineBusyTicks, machineStealTicks, processTree, softirqThreads, TICKS_PER_SECOND, treeTicks } from './lib/procfs.mjs';
import { median } from './lib/summary.mjs';
import { ensureTools, versionOf } from './lib/tools.mjs';
import { warmUp, wrk } from './lib/wrk.mjs';

const CORES = availableParallelism();
const powersOfTwo = [1, 2, 4, 8, 16, 32, 64, 128].filter((n) => n <= CORES);
const settings = {
  counts: (process.env.COUNTS ?? powersOfTwo.join(',')).split(',').map(Number),
  runS: Number(process.env.BENCH_RUN_S ?? 6),
  warmupS: Number(process.env.BENCH_WARMUP_S ?? 4),
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 64),
  tries: Number(process.env.BENCH_TRIES ?? 2),
  noise: Number(process.env.BENCH_NOISE ?? 0.05),
  quietWaitS: Number(process.env.BENCH_QUIET_WAIT_S ?? 90),
};
const LOAD_CPUS = '0';
const SERVICE_PATH = '/svc/bench/';
/** The last `n` cores (every core once `n` reaches their number), as taskset takes them. */
const proxyCpus = (n) => {
  const first = Math.max(0, CORES - n);
  return first === CORES - 1 ? String(first) : `${first}-${CORES - 1}`;
};
const seconds = (ticks) => ticks / TICKS_PER_SECOND;

/** Direct to the backend (the ceiling), then nginx and etcd-edge in turn at each worker count. */
function contenders(backendUrl, etcdUrl) {
  const list = [{ key: 'direct', name: 'direct to the backend', workers: 0, path: '/', start: async () => ({ url: backendUrl, stop: async () => {} }) }];
  for (const n of settings.counts) {
    const cpus = proxyCpus(n);
    list.push({ key: `nginx-${n}`, name: 'nginx', workers: n, cpus, path: '/', start: () => startNginxProxy(backendUrl, { cpus, workers: n }) });
    list.push({
      key: `etcd-edge-${n}`,
      name: 'etcd-edge serve',
      gateway: true,
      workers: n,
      cpus,
      path: SERVICE_PATH,
      start: () => startServe({ etcdUrl, cpus, env: { ETCD_EDGE_WATCH: 'on' }, args: ['--workers', String(n)], ready: SERVICE_PATH }),
    });
  }
  return list;
}

/** Starts `contender`, warms it up, measures it, counts etcd's watchers while it runs, stops it. */
async function runOnce(contender, load) {
  const watchersBefore = await watcherCount(load.etcdUrl);
  const proxy = await contender.start();
  try {
    const url = `${proxy.url}${contender.path}`;
    await warmUp(url, settings.connections, settings.warmupS);
    const run = await quietRun(url, proxy.pid, load, contender.key);
    const watchers = contender.gateway ? (await watcherCount(load.etcdUrl)) - watchersBefore : undefined;
    const processes = proxy.pid ? processTree(proxy.pid).length : 0;
    const l = run.latencyUs;
    console.error(`${contender.key}: ${Math.round(run.rps)} req/s, p50 ${(l.p50 / 1000).toFixed(2)} ms, p99 ${(l.p99 / 1000).toFixed(2)} ms, `
      + `${run.errors} errors, ${run.cpuPer10k?.toFixed(2) ?? '—'} CPU s/10k req, ${processes} processes, machine ${run.busyCores.toFixed(2)} cores busy (others ${run.otherCores.toFixed(2)})`
      + `${watchers === undefined ? '' : `, ${watchers} etcd watchers`}`);
    return { ...run, watchers, processes };
  } finally {
    await proxy.stop();
    // A killed gateway's watch ends when etcd sees its stream close: wait for that before the next one counts.
    await waitFor(async () => (await watcherCount(load.etcdUrl)) === watchersBefore, 'etcd watchers back to before', { ms: 10_000 })
      .catch(() => console.error(`  ${contender.key}: etcd still counts more watchers than before it 10 s after it stopped`));
  }
}

/**
 * A measured run, repeated while other processes used more than `noise` of a
 * core; the quieter one is kept. Each try first waits for the machine to go
 * quiet (other engineers' builds come in bursts), from a budget for the whole run.
 */
async function quietRun(url, proxyPid, load, label) {
  let best;
  for (let attempt = 1; attempt <= settings.tries; attempt++) {
    await untilQuiet(load);
    const run = await measuredRun(url, proxyPid, load);
    if (!best || run.otherCores < best.otherCores) best = run;
    if (run.otherCores <= settings.noise) return { ...run, disturbed: false };
    console.error(`  ${label}: other processes used ${(run.otherCores * 100).toFixed(0)}% of a core, ${attempt < settings.tries ? 'again' : 'kept, marked'}`);
  }
  return { ...best, disturbed: true };
}

let quietBudgetMs = settings.quietWaitS * 1000;

/** Waits (while the budget lasts) until a second passes in which other processes used at most `noise` of a core. */
async function untilQuiet(load) {
  while (quietBudgetMs > 0) {
    const before = sample(undefined, load);
    await sleep(1_000);
    const after = sample(undefined, load);
    const others = seconds((after.busy - before.busy) - (after.known - before.known));
    if (others <= settings.noise) return;
    quietBudgetMs -= 1_000;
  }
}

/**
 * CPU ticks of everything the run involves. The proxy's workers (node:cluster's,
 * nginx's) have no children of their own, so the primary's own ticks are the
 * tree's less its children's. wrk's land in this process's reaped-children
 * ticks once it exits; nothing else exits during a run.
 */
function sample(proxyPid, load) {
  const children = proxyPid ? processTree(proxyPid).slice(1) : [];
  const proxy = proxyPid ? treeTicks([proxyPid]) : 0;
  const self = treeTicks([process.pid]);
  return {
    proxy,
    primary: proxy - treeTicks(children),
    wrk: treeTicks([process.pid], { reaped: true }) - self,
    backend: treeTicks([load.backendPid]),
    etcd: treeTicks([load.etcdPid]),
    known: treeTicks([process.pid], { reaped: true }) + treeTicks(softirqThreads()),
    busy: machineBusyTicks(),
    steal: machineStealTicks(),
  };
}

async function measuredRun(url, proxyPid, load) {
  const before = sample(proxyPid, load);
  const started = performance.now();
  const result = await wrk(url, settings.connections, settings.runS);
  const elapsedS = (performance.now() - started) / 1000;
  const after = sample(proxyPid, load);
  const cores = (key) => seconds(after[key] - before[key]) / elapsedS;
  const proxyCpuS = seconds(after.proxy - before.proxy);
  return {
    rps: result.requests / (result.durationUs / 1e6),
    requests: result.requests,
    errors: Object.values(result.errors).reduce((a, b) => a + b, 0),
    latencyUs: result.latencyUs,
    cpuPer10k: proxyPid && result.requests ? (proxyCpuS / result.requests) * 10_000 : undefined,
    primaryShare: proxyPid && after.proxy > before.proxy ? (after.primary - before.primary) / (after.proxy - before.proxy) : undefined,
    proxyCores: cores('proxy'),
    wrkCores: cores('wrk'),
    backendCores: cores('backend'),
    etcdCores: cores('etcd'),
    busyCores: cores('busy'),
    stealCores: cores('steal'),
    // Busy time that none of the benchmark's processes nor the kernel's network threads account for.
    otherCores: Math.max(0, cores('busy') - cores('known')),
  };
}

/** etcd's own count of open watchers (`etcd_debugging_mvcc_watcher_total` on /metrics). */
async function watcherCount(etcdUrl) {
  const text = await (await fetch(`${etcdUrl}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watcher_total (\S+)$/m.exec(text)?.[1] ?? NaN);
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const ms = (us) => `${(us / 1000).toFixed(us < 10_000 ? 3 : 1)} ms`;
const fixed = (n, digits = 2) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits));
const percent = (n) => (n === undefined ? '—' : `${(n * 100).toFixed(n < 0.1 ? 1 : 0)} %`);

/** Medians over rounds, one row per contender in the order they ran. */
function rows(all) {
  const keys = [...new Set(all.map((r) => r.key))];
  return keys.map((key) => {
    const mine = all.filter((r) => r.key === key);
    const m = (pick) => median(mine.map(pick));
    const rps = mine.map((r) => r.rps);
    return {
      ...mine[0],
      rps: m((r) => r.rps), rpsMin: Math.min(...rps), rpsMax: Math.max(...rps),
      p50: m((r) => r.latencyUs.p50), p99: m((r) => r.latencyUs.p99),
      cpuPer10k: m((r) => r.cpuPer10k), primaryShare: m((r) => r.primaryShare),
      proxyCores: m((r) => r.proxyCores), loadCores: m((r) => r.wrkCores + r.backendCores + r.etcdCores), wrkCores: m((r) => r.wrkCores),
      busyCores: m((r) => r.busyCores), stealCores: Math.max(...mine.map((r) => r.stealCores)), otherCores: m((r) => r.otherCores),
      errors: mine.reduce((sum, r) => sum + r.errors, 0),
      disturbed: mine.filter((r) => r.disturbed).length,
      watchers: [...new Set(mine.map((r) => r.watchers).filter((w) => w !== undefined))].join(', '),
      processes: [...new Set(mine.map((r) => r.processes))].join(', '),
    };
  });
}

function table(summary) {
  const nginx = (n) => summary.find((r) => r.key === `nginx-${n}`);
  const single = (r) => summary.find((s) => s.name === r.name && s.workers === 1);
  return [
    '| proxy | workers | proxy cores | req/s median [min–max] | p50 | p99 | errors | proxy CPU s / 10k req | × nginx (CPU/req) | × 1 worker (CPU/req) | primary / master share | proxy busy (cores) | load side: wrk + backend + etcd (cores) | machine busy (cores), of which other processes | etcd watchers |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.map((r) => `| ${r.name} | ${r.workers || '—'} | ${r.cpus ?? '—'} | ${int(r.rps)} [${int(r.rpsMin)}–${int(r.rpsMax)}]${r.disturbed ? ' †' : ''} | ${ms(r.p50)} | ${ms(r.p99)} | ${int(r.errors)} `
      + `| ${fixed(r.cpuPer10k)} | ${r.gateway ? fixed(r.cpuPer10k / nginx(r.workers)?.cpuPer10k) : '—'} | ${r.workers ? fixed(r.cpuPer10k / single(r)?.cpuPer10k) : '—'} `
      + `| ${r.key === 'etcd-edge-1' ? 'one process' : r.workers ? percent(r.primaryShare) : '—'} | ${r.workers ? fixed(r.proxyCores) : '—'} | ${fixed(r.loadCores)} (wrk ${fixed(r.wrkCores)}) | ${fixed(r.busyCores)} (${fixed(r.otherCores)}) | ${r.watchers || '—'} |`),
  ];
}

/** Per round, `key`'s CPU per request over `baseKey`'s (run seconds apart): [min, median, max]. */
function roundRatios(all, key, baseKey) {
  const ratios = [];
  for (const run of all.filter((r) => r.key === key)) {
    const base = all.find((r) => r.key === baseKey && r.round === run.round);
    if (base?.cpuPer10k && run.cpuPer10k) ratios.push(run.cpuPer10k / base.cpuPer10k);
  }
  return ratios.length ? `${fixed(median(ratios))}× [${fixed(Math.min(...ratios))}–${fixed(Math.max(...ratios))}]` : '—';
}

/** What the table says about workers, in words: CPU per request against one process, the primary's share, and what bounds req/s. */
function readings(summary, all) {
  const lines = [];
  const edge = summary.filter((r) => r.gateway);
  const one = edge.find((r) => r.workers === 1);
  for (const r of edge.filter((e) => e.workers > 1)) {
    const sharing = r.workers >= CORES ? `; its cores include core 0, so it shared them with the load side (machine ${fixed(r.busyCores)} of ${CORES} cores busy): req/s there is the machine's bound, not the gateway's` : '';
    lines.push(`- etcd-edge --workers ${r.workers}: CPU per request ${roundRatios(all, r.key, 'etcd-edge-1')} that of one process round by round `
      + `(nginx with ${r.workers} workers: ${roundRatios(all, `nginx-${r.workers}`, 'nginx-1')} that of one worker), `
      + `the primary ${percent(r.primaryShare)} of the tree's CPU, ${fixed(r.rps / (one?.rps ?? r.rps))}× one process's req/s (medians)${sharing}.`);
  }
  const watchers = [...new Set(edge.map((r) => r.watchers))];
  if (watchers.length === 1) lines.push(`- etcd watchers while etcd-edge ran (one service): ${watchers[0]} at every worker count.`);
  else if (watchers.length) lines.push(`- etcd watchers while etcd-edge ran (one service): ${edge.map((r) => `${r.watchers} at N = ${r.workers}`).join(', ')}.`);
  return lines;
}

function report(all) {
  const summary = rows(all);
  const s = settings;
  const lines = [
    `Measured by \`npm run bench:cores\` on ${CORES}× ${cpus()[0].model.trim()}, Linux ${release()}, Node ${process.versions.node}, `
      + `${versionOf('nginx', ['-v']).replace('nginx version: ', '')}, etcd ${versionOf('etcd', ['--version']).replace('etcd Version: ', '')}; ${new Date().toISOString().slice(0, 10)}.`,
    '',
    `wrk (\`-t1\`, ${s.connections} connections), the nginx backend (1 KiB body) and etcd on core 0; the proxy under test on cores ${s.counts.map((n) => `${proxyCpus(n)} (N = ${n})`).join(', ')}. `
      + `${s.rounds} rounds, each running every contender once (started, ${s.warmupS} s of warm-up, ${s.runS} s measured, stopped); medians over rounds. `
      + 'CPU is user + system time from /proc of the proxy\'s whole process tree (etcd-edge: primary + workers; nginx: master + workers), and of the primary (master) pid alone for its share. '
      + `etcd watchers: \`etcd_debugging_mvcc_watcher_total\` while the gateway ran, less before it started. `
      + `Other engineers' builds and tests share this machine: before each run the script waits (up to ${s.quietWaitS} s in all) for a second in which processes outside the benchmark used at most ${percent(s.noise)} of a core, `
      + `a run during which they used more is tried ${s.tries} times in all and the quieter kept († where none was quiet); "of which other processes" is the median of what they used during the kept runs. `
      + `Steal at most ${percent(Math.max(...summary.map((r) => r.stealCores)) / CORES)} of the machine.`,
    '',
    ...table(summary),
    '',
    ...readings(summary, all),
  ];
  const text = lines.join('\n');
  console.log(text);
  const file = new URL('../BENCHMARKS.md', import.meta.url);
  const current = readFileSync(file, 'utf8');
  if (current.includes('<!-- cores:start -->')) {
    writeFileSync(file, current.replace(/<!-- cores:start -->[\s\S]*<!-- cores:end -->/, () => `<!-- cores:start -->\n${text}\n<!-- cores:end -->`));
  }
}

/** Every contender once per round, so that the VM's drift touches them alike; one report at the end. */
async function main() {
  ensureTools();
  // This process (and so everything it starts without taskset) stays on the load's core.
  execFileSync('taskset', ['-apc', LOAD_CPUS, String(process.pid)], { stdio: 'ignore' });
  const etcd = await startEtcd({ cpus: LOAD_CPUS });
  const runs = [];
  try {
    // One port for nginx, three for etcd-edge's instances, as `npm run bench` does.
    const backend = await startBackend(await Promise.all([0, 1, 2, 3].map(freePort)), { cpus: LOAD_CPUS });
    await registerInstances(etcd.url, 'bench', backend.urls.slice(1), 3);
    const load = { backendPid: backend.pid, etcdPid: etcd.pid, etcdUrl: etcd.url };
    for (let round = 1; round <= settings.rounds; round++) {
      console.error(`round ${round} of ${settings.rounds}`);
      for (const contender of contenders(backend.urls[0], etcd.url)) runs.push({ ...contender, round, ...(await runOnce(contender, load)) });
    }
    await backend.stop();
  } finally {
    await etcd.stop();
  }
  report(runs);
}

await main();
process.exit(0);

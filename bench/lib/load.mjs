// A Node load generator (bench/load/*.mjs) run as a child on core 0, with the
// CPU its run cost the proxy under test and what else used the machine: the
// counterpart of wrk.mjs for protocols wrk does not speak (gRPC, WebSocket).
// The generator warms up, prints `MEASURING`, loads for its time, then prints
// `LOAD_JSON {…}`; the proxy's CPU is read at those two lines.
import { machineBusyTicks, machineStealTicks, softirqThreads, TICKS_PER_SECOND, treeTicks } from './procfs.mjs';
import { sleep, spawnChild } from './processes.mjs';

const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** p50 and p99 (ms) of latencies (ms), for a generator's report. */
export function latencyMs(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  return { p50: percentile(sorted, 0.5) ?? NaN, p99: percentile(sorted, 0.99) ?? NaN };
}

async function until(child, text) {
  while (!child.output().includes(text)) {
    if (child.exited()) throw new Error(`load generator exited:\n${child.output().slice(-2_000)}`);
    await sleep(5);
  }
}

/**
 * Runs `script` with `env` on core 0. Returns its report (`count`, `seconds`,
 * `errors`, `latencyMs`) with `rate` per second, the proxy's CPU s per 10,000
 * operations (`proxyPid` is the root of its tree; none for direct) and the
 * share of a core used by nothing the benchmark knows of (`unexplainedCore`).
 */
export async function loadRun(script, env, { proxyPid } = {}) {
  const child = spawnChild(process.execPath, [script], { cpus: '0', env });
  const known = () => treeTicks([process.pid], { reaped: true }) + treeTicks(softirqThreads());
  await until(child, 'MEASURING');
  const [proxyBefore, knownBefore, busyBefore, stealBefore] = [proxyPid ? treeTicks([proxyPid]) : 0, known(), machineBusyTicks(), machineStealTicks()];
  const started = performance.now();
  await until(child, 'LOAD_JSON');
  const elapsedS = (performance.now() - started) / 1000;
  const [proxyTicks, knownTicks, busy, steal] = [proxyPid ? treeTicks([proxyPid]) - proxyBefore : 0, known() - knownBefore, machineBusyTicks() - busyBefore, machineStealTicks() - stealBefore];
  const { code } = await child.exit;
  const json = /^LOAD_JSON (.*)$/m.exec(child.output())?.[1];
  if (code !== 0 || !json) throw new Error(`load generator failed:\n${child.output().slice(-2_000)}`);
  const report = JSON.parse(json);
  return {
    ...report,
    rate: report.count / report.seconds,
    cpuPer10k: proxyPid && report.count ? (proxyTicks / TICKS_PER_SECOND / report.count) * 10_000 : undefined,
    unexplainedCore: Math.max(0, busy - knownTicks) / TICKS_PER_SECOND / elapsedS,
    stealCore: steal / TICKS_PER_SECOND / elapsedS,
  };
}

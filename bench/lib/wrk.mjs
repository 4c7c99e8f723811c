// One wrk run, with the CPU it cost the proxy and a check that nothing outside
// the benchmark used the machine meanwhile.
import { machineBusyTicks, machineStealTicks, softirqThreads, ticksByCommand, TICKS_PER_SECOND, treeTicks } from './procfs.mjs';
import { spawnChild } from './processes.mjs';

const SCRIPT = new URL('./wrk-report.lua', import.meta.url).pathname;

/** wrk on core 0, one thread: the same load generator for every contender. */
export async function wrk(url, connections, seconds) {
  const child = spawnChild('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', SCRIPT, url], { cpus: '0' });
  const { code } = await child.exit;
  const json = /^WRK_JSON (.*)$/m.exec(child.output())?.[1];
  if (code !== 0 || !json) throw new Error(`wrk ${url} failed:\n${child.output().slice(-2_000)}`);
  return JSON.parse(json);
}

/**
 * A measured run. `proxyPid` is the root of the proxy's process tree (none for
 * direct). Unexplained CPU is the machine's busy time minus what this process
 * and its descendants used (backend, etcd, every contender, the reaped wrk),
 * and the kernel's network threads.
 */
export async function measuredRun({ url, connections, seconds, proxyPid }) {
  const known = () => treeTicks([process.pid], { reaped: true }) + treeTicks(softirqThreads());
  const proxyBefore = proxyPid ? treeTicks([proxyPid]) : 0;
  const commandsBefore = proxyPid ? ticksByCommand(proxyPid) : {};
  const knownBefore = known();
  const busyBefore = machineBusyTicks();
  const stealBefore = machineStealTicks();
  const started = performance.now();
  const result = await wrk(url, connections, seconds);
  const elapsedS = (performance.now() - started) / 1000;
  const busy = machineBusyTicks() - busyBefore;
  const steal = machineStealTicks() - stealBefore;
  const knownTicks = known() - knownBefore;
  const proxyCpuS = proxyPid ? (treeTicks([proxyPid]) - proxyBefore) / TICKS_PER_SECOND : undefined;
  const cpuByCommand = Object.fromEntries(Object.entries(proxyPid ? ticksByCommand(proxyPid) : {})
    .map(([command, ticks]) => [command, (ticks - (commandsBefore[command] ?? 0)) / TICKS_PER_SECOND]));
  const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
  return {
    rps: result.requests / (result.durationUs / 1e6),
    requests: result.requests,
    errors,
    latencyUs: result.latencyUs,
    cpuPer10k: proxyCpuS === undefined || result.requests === 0 ? undefined : (proxyCpuS / result.requests) * 10_000,
    // Seconds per process name, to tell wrangler's Node process from workerd.
    cpuByCommand,
    // Share of one core used by nothing the benchmark knows of.
    unexplainedCore: Math.max(0, busy - knownTicks) / TICKS_PER_SECOND / elapsedS,
    // Share of one core the hypervisor kept from this machine: the VM's own drift, which no retry avoids.
    stealCore: steal / TICKS_PER_SECOND / elapsedS,
  };
}

export const warmUp = (url, connections, seconds) => wrk(url, connections, seconds);

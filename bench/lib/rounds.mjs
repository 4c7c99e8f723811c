// The load phase: every contender at every concurrency, one round after the
// other, so that a slow drift of the machine touches all contenders alike.
// Within a round the contenders take turns at one concurrency before the next,
// so runs that are compared (fastify and etcd-edge at 64) are seconds apart.
import { rangeCounters } from './etcd.mjs';
import { measuredRun, warmUp } from './wrk.mjs';

/**
 * One measured run, repeated while something outside the benchmark used more
 * than `noise` of a core, or the hypervisor kept more than `steal` of the two
 * cores for other guests; after `tries` the least disturbed one is kept, marked.
 */
async function cleanRun(options, { tries, noise, steal, label }) {
  let best;
  for (let attempt = 1; attempt <= tries; attempt++) {
    const run = await measuredRun(options);
    const taken = run.stealCore / 2;
    if (!best || run.unexplainedCore + run.stealCore < best.unexplainedCore + best.stealCore) best = run;
    if (run.unexplainedCore <= noise && taken <= steal) return { ...run, attempts: attempt, disturbed: false };
    const why = run.unexplainedCore > noise ? `other processes used ${(run.unexplainedCore * 100).toFixed(0)}% of a core` : `steal took ${(taken * 100).toFixed(0)}% of the two cores`;
    console.error(`  ${label}: ${why}, ${attempt < tries ? 'again' : 'kept, marked'}`);
  }
  return { ...best, attempts: tries, disturbed: true };
}

/**
 * Runs `rounds` rounds over the started `contenders` (each with url, path,
 * pid). Returns one record per run, with etcd's range calls during it.
 */
export async function loadRounds(contenders, { rounds, concurrency, warmupS, runS, etcdUrl, tries, noise, steal }) {
  const runs = [];
  for (let round = 1; round <= rounds; round++) {
    for (const connections of concurrency) {
      for (const contender of contenders) {
        const url = `${contender.url}${contender.path}`;
        const label = `round ${round} ${contender.key} c=${connections}`;
        await warmUp(url, connections, warmupS);
        const ranges = await rangeCounters(etcdUrl);
        const run = await cleanRun({ url, connections, seconds: runS, proxyPid: contender.pid }, { tries, noise, steal, label });
        const rangeCalls = (await rangeCounters(etcdUrl)).grpc - ranges.grpc;
        runs.push({ key: contender.key, round, connections, ...run, rangeCalls });
        const l = run.latencyUs;
        console.error(`${label}: ${Math.round(run.rps)} req/s, p50 ${(l.p50 / 1000).toFixed(2)} ms, p99.9 ${(l.p999 / 1000).toFixed(2)} ms, ${run.errors} errors, ${rangeCalls} range calls`);
      }
    }
  }
  return runs;
}

// Rounds of a Node load generator over contenders started side by side (the
// load moves from one to the next, seconds apart, so the machine's drift
// touches all alike), and their summary: medians over rounds, and each
// contender's rate as a ratio to direct's in the same round.
import { loadavg } from 'node:os';
import { loadRun } from './load.mjs';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * `rounds` rounds; in each, every level of `levels` (a concurrency), every
 * contender in turn. `envOf(contender, level)` is the generator's environment.
 */
export async function generatorRounds(contenders, { script, rounds, levels, envOf, unit }) {
  const runs = [];
  for (let round = 1; round <= rounds; round++) {
    for (const level of levels) {
      for (const contender of contenders) {
        const run = await loadRun(script, envOf(contender, level), { proxyPid: contender.pid });
        runs.push({ key: contender.key, round, level, ...run });
        const l = run.latencyMs;
        console.error(`round ${round} ${contender.key} ${level}: ${Math.round(run.rate)} ${unit}/s, p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, ${run.errors} errors, other processes ${(run.unexplainedCore * 100).toFixed(0)}% of a core, load ${loadavg()[0].toFixed(2)}`);
      }
    }
  }
  return runs;
}

/** One row per contender and level: medians over rounds, and the median of the per-round ratios to direct. */
export function summarize(contenders, runs, levels) {
  const rows = [];
  for (const level of levels) {
    const direct = runs.filter((r) => r.key === 'direct' && r.level === level);
    for (const contender of contenders) {
      const own = runs.filter((r) => r.key === contender.key && r.level === level);
      const ratios = own.map((r) => r.rate / direct.find((d) => d.round === r.round).rate);
      rows.push({
        contender,
        level,
        rate: median(own.map((r) => r.rate)),
        ratio: median(ratios),
        ratioRange: [Math.min(...ratios), Math.max(...ratios)],
        p50: median(own.map((r) => r.latencyMs.p50)),
        p99: median(own.map((r) => r.latencyMs.p99)),
        cpuPer10k: own[0].cpuPer10k === undefined ? undefined : median(own.map((r) => r.cpuPer10k)),
        errors: own.reduce((sum, r) => sum + r.errors, 0),
        otherCore: Math.max(...own.map((r) => r.unexplainedCore)),
      });
    }
  }
  return rows;
}

/** The summary as a Markdown table. */
export function table(rows, { levelName, unit }) {
  const head = `| ${levelName} | contender | ${unit}/s | vs direct (range over rounds) | p50 ms | p99 ms | proxy CPU s / 10k | errors |\n|---|---|---|---|---|---|---|---|`;
  return [head, ...rows.map((r) => `| ${r.level} | ${r.contender.name} | ${Math.round(r.rate).toLocaleString('en-US')} | ${r.contender.key === 'direct' ? '1' : `${r.ratio.toFixed(2)} (${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)})`} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuPer10k === undefined ? '–' : r.cpuPer10k.toFixed(2)} | ${r.errors} |`)].join('\n');
}

// From single runs to the figures of the report: medians over rounds, the
// spread, and ratios to the baselines measured in the same run.

export function median(values) {
  const sorted = values.filter((v) => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One row per contender and concurrency, in the order the contenders ran. */
export function summarize(runs, contenders, concurrency) {
  const rows = [];
  for (const { key, name } of contenders) {
    for (const connections of concurrency) {
      const mine = runs.filter((r) => r.key === key && r.connections === connections);
      if (mine.length === 0) continue;
      const rps = mine.map((r) => r.rps);
      rows.push({
        key,
        name,
        connections,
        rounds: mine.length,
        rps: median(rps),
        rpsMin: Math.min(...rps),
        rpsMax: Math.max(...rps),
        p50: median(mine.map((r) => r.latencyUs.p50)),
        p99: median(mine.map((r) => r.latencyUs.p99)),
        p999: median(mine.map((r) => r.latencyUs.p999)),
        cpuPer10k: median(mine.map((r) => r.cpuPer10k)),
        errors: mine.reduce((sum, r) => sum + r.errors, 0),
        disturbed: mine.filter((r) => r.disturbed).length,
        rangeCalls: mine.reduce((sum, r) => sum + r.rangeCalls, 0),
        requests: mine.reduce((sum, r) => sum + r.requests, 0),
      });
    }
  }
  const baseline = (key, connections) => rows.find((r) => r.key === key && r.connections === connections)?.rps;
  for (const row of rows) {
    row.vsDirect = row.rps / baseline('direct', row.connections);
    row.vsNginx = row.rps / baseline('nginx', row.connections);
  }
  return rows;
}

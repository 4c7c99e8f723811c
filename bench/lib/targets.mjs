// etcd-edge's performance targets, each checked against figures from the same run.
import { median } from './summary.mjs';

const mark = (ok) => (ok === undefined ? '—' : ok ? '✓' : '✗');
const fixed = (n, digits) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(digits));

/** Lines of the targets list: what was wanted, what was measured, ✓ or ✗ (— when not measured). */
/**
 * The median over rounds of `a`'s figure divided by `b`'s in the same round:
 * the two ran minutes apart at most, so a machine that drifts between rounds
 * (a shared VM) moves both.
 */
export function pairedRatio(runs, a, b, connections, figure) {
  const ratios = [];
  for (const mine of runs.filter((r) => r.key === a && r.connections === connections)) {
    const theirs = runs.find((r) => r.key === b && r.connections === connections && r.round === mine.round);
    if (theirs) ratios.push(figure(mine) / figure(theirs));
  }
  return ratios.length ? { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), rounds: ratios.length } : undefined;
}

const range = (r, digits, unit = '') => `${r.median.toFixed(digits)}${unit} [${r.min.toFixed(digits)}–${r.max.toFixed(digits)}${unit}] over ${r.rounds} rounds`;

export function targetLines({ rows, runs = [], discovery = [], bundle, health = {}, settings }) {
  const row = (key, c) => rows.find((r) => r.key === key && r.connections === c);
  const edge64 = row('etcd-edge', 64);
  const fastify64 = row('fastify', 64);
  const edge1 = row('etcd-edge', 1);
  const fastify1 = row('fastify', 1);
  const lines = [];

  const speedup = edge64 && fastify64 ? edge64.rps / fastify64.rps : undefined;
  const paired = pairedRatio(runs, 'etcd-edge', 'fastify', 64, (r) => r.rps);
  const judged = paired?.median ?? speedup;
  lines.push(`${mark(judged === undefined ? undefined : judged >= 1.3)} throughput at 64 connections ≥ 1.3× fastify's: ${speedup === undefined ? 'n/a' : `${fixed(speedup, 2)}× (medians)`}${paired ? `; round by round ${range(paired, 2, '×')}` : ''}`);

  const p50s = edge1 && fastify1 ? [edge1.p50, fastify1.p50] : undefined;
  const p50Paired = pairedRatio(runs, 'etcd-edge', 'fastify', 1, (r) => r.latencyUs.p50);
  const p50Judged = p50Paired ? p50Paired.median <= 1 : p50s && p50s[0] <= p50s[1];
  lines.push(`${mark(p50s ? p50Judged : undefined)} p50 at 1 connection ≤ fastify's: ${p50s ? `${fixed(p50s[0] / 1000, 3)} ms vs ${fixed(p50s[1] / 1000, 3)} ms (medians)` : 'n/a'}${p50Paired ? `; etcd-edge's over fastify's round by round ${range(p50Paired, 2)}` : ''}`);

  // Judged where the gateway is busy (16 connections): see the discovery section for why one connection reads higher.
  const many = discovery.filter((d) => d.instances === 10_000 && d.connections === 16);
  const idle = discovery.filter((d) => d.instances === 10_000 && d.connections === 1);
  const worst = many.length ? Math.max(...many.map((d) => d.meanUs)) : undefined;
  const idleText = idle.length ? `; over 1 connection ${idle.map((d) => `${fixed(d.meanUs, 1)} µs mean, ${fixed(d.p50Us, 0)} µs p50 (${d.mode})`).join(', ')}` : '';
  lines.push(`${mark(worst === undefined ? undefined : worst < 5)} lookup + selection < 5 µs at 10,000 instances, 16 connections: ${many.map((d) => `${fixed(d.meanUs, 1)} µs mean (${d.mode} mode)`).join(', ') || 'n/a'}${idleText}`);

  const watch = discovery.filter((d) => d.mode === 'watch');
  const watchRanges = watch.reduce((sum, d) => sum + d.ranges, 0)
    + rows.filter((r) => r.key === 'etcd-edge').reduce((sum, r) => sum + r.rangeCalls, 0);
  lines.push(`${mark(watch.length ? watchRanges === 0 : undefined)} no etcd range calls per request in watch mode: ${watch.length ? `${watchRanges} in all watch-mode runs` : 'n/a'}`);

  // Cache mode reads a service once per TTL (2 s): at most one more than the window holds whole TTLs.
  const cacheFew = discovery.find((d) => d.mode === 'cache' && d.instances === 10 && d.connections === 1);
  const allowed = Math.floor(settings.discoveryS / 2) + 1;
  lines.push(`${mark(cacheFew ? cacheFew.ranges <= allowed : undefined)} cache mode about one range call per service per 2 s TTL: ${cacheFew ? `${cacheFew.ranges} in ${settings.discoveryS} s (${fixed(cacheFew.rangesPerRequest, 6)} per request)` : 'n/a'}`);

  // CPU per request, not req/s: the passthrough is the floor of any Worker in workerd, and CPU is what Workers bill.
  const worker = pairedRatio(runs, 'workerd', 'workerd-bare', 64, (r) => r.cpuPer10k);
  lines.push(`${mark(worker ? worker.median <= 1.5 : undefined)} Worker CPU per request in workerd alone ≤ 1.5× the bare passthrough Worker's at 64 connections: ${worker ? range(worker, 2, '×') : 'n/a'}`);

  lines.push(`${mark(bundle ? bundle.gzipKiB < 64 : undefined)} Worker bundle < 64 KiB gzipped: ${bundle ? `${fixed(bundle.gzipKiB, 1)} KiB` : 'n/a'}`);

  const node = health['etcd-edge'];
  const clean = node && node.restarts === 0 && node.after <= node.before && node.answersAfter;
  lines.push(`${mark(node ? clean : undefined)} no crash and no leaked socket when clients drop connections: ${node ? `${node.restarts} restarts, sockets ${node.before} → ${node.after}` : 'n/a'}`);
  return lines;
}

// The comparison's section of BENCHMARKS.md and its chart, from the results
// of one run.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { latencySvg } from './chart.mjs';
import { summarize } from './summary.mjs';
import { targetLines } from './targets.mjs';
import { versionOf } from './tools.mjs';

const FILE = new URL('../../BENCHMARKS.md', import.meta.url);
const CHART = new URL('../latency.svg', import.meta.url);
const START = '<!-- compare:start -->';
const END = '<!-- compare:end -->';

const int = (n) => Math.round(n).toLocaleString('en-US');
const ms = (us) => (us === undefined ? '—' : `${(us / 1000).toFixed(us < 10_000 ? 3 : 1)} ms`);
const ratio = (n) => (n === undefined || Number.isNaN(n) ? '—' : `${n.toFixed(2)}×`);

function machine() {
  const wrangler = JSON.parse(readFileSync(new URL('../../node_modules/wrangler/package.json', import.meta.url), 'utf8')).version;
  return `${cpus().length}× ${cpus()[0].model.trim()}, Linux ${release()}, Node ${process.versions.node}, `
    + `${versionOf('nginx', ['-v']).replace('nginx version: ', '')}, wrk ${versionOf('wrk', ['-v']).split(' ')[1]}, `
    + `etcd ${versionOf('etcd', ['--version']).replace('etcd Version: ', '')}, wrangler ${wrangler}; ${new Date().toISOString().slice(0, 10)}`;
}

function mainTable(rows) {
  return [
    '| contender | connections | req/s median [min–max] | p50 | p99 | p99.9 | proxy CPU s / 10k req | × direct | × nginx |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.connections} | ${int(r.rps)} [${int(r.rpsMin)}–${int(r.rpsMax)}]${r.disturbed ? ' †' : ''}${r.errors ? ` (${int(r.errors)} errors)` : ''} `
      + `| ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.p999)} | ${r.cpuPer10k === undefined ? '—' : r.cpuPer10k.toFixed(2)} | ${ratio(r.vsDirect)} | ${ratio(r.vsNginx)} |`),
  ];
}

/** Where a multi-process contender's CPU went, by process name, over its runs at `connections`. */
function cpuSplit(runs, key, connections) {
  const totals = {};
  for (const run of runs.filter((r) => r.key === key && r.connections === connections)) {
    for (const [command, seconds] of Object.entries(run.cpuByCommand ?? {})) totals[command] = (totals[command] ?? 0) + seconds;
  }
  const all = Object.values(totals).reduce((a, b) => a + b, 0);
  if (all <= 0) return undefined;
  return Object.entries(totals).filter(([, s]) => s / all >= 0.01).sort((a, b) => b[1] - a[1]).map(([c, s]) => `${c} ${Math.round((s / all) * 100)} %`).join(', ');
}

function discoveryTable(discovery, settings) {
  return [
    `| mode | instances | connections | lookup + selection, mean | p50 | p99 | etcd range calls in ${settings.discoveryS} s | per second | per request |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...discovery.map((d) => `| ${d.mode === 'cache' ? 'cache (2 s TTL)' : 'watch'} | ${int(d.instances)} | ${d.connections} | ${d.meanUs.toFixed(1)} µs | ${d.p50Us.toFixed(0)} µs | ${d.p99Us.toFixed(0)} µs `
      + `| ${d.ranges} | ${d.rangesPerS.toFixed(2)} | ${d.rangesPerRequest.toFixed(6)} |`),
  ];
}

function healthTable(health, contenders) {
  return [
    '| gateway | sockets at start | before dropping clients | after (settled) | dropped requests | restarts | answers after |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...Object.entries(health).map(([key, h]) => `| ${contenders.find((c) => c.key === key).name} | ${h.socketsAtStart} | ${h.before} | ${h.after} | ${int(h.requests)} | ${h.restarts} | ${h.answersAfter ? 'yes' : 'no'} |`),
  ];
}

/** The hypervisor's steal over the measured runs, as the median and highest share of the two cores. */
function stealText(runs) {
  const shares = runs.map((r) => r.stealCore).filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!shares.length) return '';
  const pct = (x) => `${Math.round((x / 2) * 100)} %`;
  return `; the hypervisor kept a median ${pct(shares[Math.floor(shares.length / 2)])} (at most ${pct(shares[shares.length - 1])}) of the two cores from it during the measured runs (steal time, /proc/stat)`;
}

function method(s, runs) {
  return [
    `Each contender forwards \`GET\` to the same nginx backend answering a fixed 1 KiB body over keep-alive. wrk (\`-t1\`, ${s.concurrency.join(' / ')} connections), the backend and etcd run on core 0 (taskset), the proxy under test alone on core 1.`,
    `Per run: ${s.warmupS} s of warm-up, then ${s.runS} s measured; ${s.rounds} round${s.rounds === 1 ? '' : 's'}, each running every contender in turn at one concurrency before the next; the table shows the median over rounds, with the range of req/s.`,
    `A run during which processes outside the benchmark used more than ${Math.round(s.noise * 100)} % of a core (/proc/stat busy time minus that of the benchmark's own process tree and the kernel's softirq threads), or the hypervisor kept more than ${Math.round(s.steal * 100)} % of the two cores for other guests (steal time), is repeated, up to ${s.tries} ${s.tries === 1 ? 'try' : 'tries'} in all; † marks one kept anyway.`,
    'Latency percentiles come from wrk\'s histogram (a Lua `done()` hook prints p99.9, which `--latency` omits); wrk waits for each answer before the next request on a connection, so queueing behind a slow answer is not counted (coordinated omission).',
    `This machine is a shared VM whose speed drifts by tens of percent over minutes${stealText(runs)}. Targets that compare etcd-edge with fastify are therefore judged on the median of the ratio within each round (at each concurrency the two run back to back), and the ratio of medians is shown beside it.`,
    'Proxy CPU is the user + system time of the proxy\'s process tree during the measured run (/proc/PID/stat). etcd-edge runs with three instances in a real etcd (native layout, weighted-random); nginx proxies with `keepalive 64` upstream connections; fastify uses @fastify/http-proxy\'s defaults; http-proxy a keep-alive agent; the bare undici proxy is Node\'s HTTP server and one undici pool with etcd-edge\'s forwarding fields and nothing else (no discovery, selection, retries, timeouts or metrics), the most a Node gateway built on those parts can do.',
  ];
}

/** Writes BENCHMARKS.md's comparison section and bench/latency.svg. */
export async function writeReport({ settings, contenders, runs = [], health = {}, discovery = [], bundle, coldStart }) {
  const rows = summarize(runs, contenders, settings.concurrency);
  const chartConnections = [Math.min(...settings.concurrency), Math.max(...settings.concurrency)];
  const points = rows.filter((r) => chartConnections.includes(r.connections)).flatMap((r) =>
    [['p50', r.p50], ['p99', r.p99], ['p99.9', r.p999]].map(([percentile, us]) => ({ contender: contenders.find((c) => c.key === r.key).label, concurrency: r.connections, percentile, ms: Math.max(us, 1) / 1000 })));
  writeFileSync(CHART, await latencySvg(points));

  const lines = [
    START,
    `Measured by \`npm run bench\` on ${machine()}.`,
    '',
    ...method(settings, runs),
    '',
    ...mainTable(rows),
    '',
    ...(() => {
      const top = Math.max(...settings.concurrency);
      const split = cpuSplit(runs, 'worker', top);
      return split ? [`Under \`wrangler dev\` the Worker's requests also pass through wrangler's own processes: its CPU at ${top} connections went to ${split} (by process name). Production Workers run none of that, so this row measures the local dev stack more than the gateway.`, ''] : [];
    })(),
    '![Latency percentiles per contender](bench/latency.svg)',
    '',
    '### Targets for etcd-edge on Node',
    '',
    ...targetLines({ rows, runs, discovery, bundle, health, settings }).map((l) => `- ${l}`),
  ];
  if (discovery.length) {
    lines.push('', '### Discovery cost', '',
      '`etcd-edge serve` on core 1 with one service of 10 and one of 10,000 instances (distinct keys, same three backend addresses), driven by a Node client after a short warm-up, over one connection and over 16. The span has no `await` in it once a snapshot is held (the lookup is synchronous), so the 16-connection rows are discovery\'s cost in a busy gateway; over one connection the gateway idles between requests, and on this shared VM each request then starts on a cold core (the mean sits well above the p50), which the target is not about. Lookup + selection is the gateway\'s `Server-Timing: discovery` of every response (µs resolution); range calls are etcd\'s own `grpc_server_handled_total{grpc_method="Range"}`.',
      '', ...discoveryTable(discovery, settings));
  }
  if (Object.keys(health).length) {
    lines.push('', '### Clients that drop connections', '',
      `After the rounds, ${settings.dropS} s of 32 clients asking for a 1 MiB body through the gateway and hanging up at once, at the response headers, after the first chunk or a few ms in. Sockets are those of the gateway's process tree, counted once idle connections settled (wrangler dev's tree holds its own internal sockets too).`,
      '', ...healthTable(health, contenders));
  }
  if (bundle || coldStart) {
    lines.push('', '### Size and start-up', '');
    if (bundle) lines.push(`- Worker bundle (\`wrangler deploy --dry-run --outdir\`): ${bundle.rawKiB.toFixed(1)} KiB, ${bundle.gzipKiB.toFixed(1)} KiB gzipped (level 9).`);
    if (coldStart) lines.push(`- Node gateway cold start, spawn of \`etcd-edge serve\` (watch mode) to its first proxied 200: ${coldStart.medianMs.toFixed(0)} ms median of 5 (${coldStart.minMs.toFixed(0)}–${coldStart.maxMs.toFixed(0)} ms).`);
  }
  lines.push(END);
  const section = lines.join('\n');
  const current = readFileSync(FILE, 'utf8');
  const updated = current.includes(START)
    ? current.replace(new RegExp(`${START}[\\s\\S]*${END}`), () => section)
    : current.replace(/\n## /, () => `\n## Against other proxies (\`npm run bench\`)\n\netcd-edge beside nginx and the Node proxies users would pick instead, under the same load in one run.\n\n${section}\n\n## `);
  writeFileSync(FILE, updated);
  console.log(section);
}

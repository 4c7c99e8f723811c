// CPU per request of several proxies run at the same time on the same core,
// each under its own wrk: the way to compare a change with the code before it
// on a VM whose speed drifts by tens of percent from one run to the next.
// Run one after another, contenders meet different machines; run together,
// they share core 1's speed, caches and steal in every round, and the ratio
// of their CPU per request repeats to about 2 %. Throughput is not compared:
// the contenders split one core, so each one's rate depends on the others.
// Meant for variants of one program (a change against the code before it, or
// etcd-edge against the bare undici proxy): programs of other footprints
// suffer differently from sharing a core. Beside the others, fastify's CPU
// per request rose ~40 % over its solo figure, etcd-edge's and bare undici's
// ~15 %, so fastify's ratio here is not its ratio in `npm run bench`.
//   node bench/side-by-side.mjs [undici|fastify|ROOT[::VAR=value...] ...]   (ROOT: a built etcd-edge checkout; default: undici and this one;
//   ::VAR=value sets a gateway variable for that contender, e.g. ROOT::ETCD_EDGE_ACCESS_LOG=/tmp/access.log)
//   ROUNDS=10 SECONDS=4 CONNECTIONS=32 (per contender)
// Ratios are to the first contender, round by round; the median is the figure.
import { join } from 'node:path';
import { NAMED_PROXIES } from './lib/contenders.mjs';
import { registerInstances, startEtcd } from './lib/etcd.mjs';
import { gatewayEnv } from './lib/etcd-edge.mjs';
import { startBackend } from './lib/nginx.mjs';
import { freePort, spawnChild, waitFor } from './lib/processes.mjs';
import { TICKS_PER_SECOND, treeTicks } from './lib/procfs.mjs';
import { ensureTools } from './lib/tools.mjs';
import { wrk } from './lib/wrk.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const SECONDS = Number(process.env.SECONDS ?? 4);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const ROOT = new URL('..', import.meta.url).pathname;

ensureTools();
const targets = process.argv.slice(2).length ? process.argv.slice(2) : ['undici', ROOT];
const etcd = await startEtcd({ cpus: '0' });
const backend = await startBackend(await Promise.all([0, 1, 2, 3].map(freePort)), { cpus: '0' });
await registerInstances(etcd.url, 'bench', backend.urls.slice(1), 3);

/** One contender on core 1: a bench proxy in front of one nginx, or `etcd-edge serve` of a checkout in front of three. */
async function start(contender) {
  const [target, ...settings] = contender.split('::');
  const extra = Object.fromEntries(settings.map((setting) => [setting.slice(0, setting.indexOf('=')), setting.slice(setting.indexOf('=') + 1)]));
  const port = await freePort();
  const script = NAMED_PROXIES[target]?.script;
  const child = script
    ? spawnChild(process.execPath, [script], { cpus: '1', env: { PORT: String(port), UPSTREAM: backend.urls[0] } })
    : spawnChild(process.execPath, [join(target, 'bin/etcd-edge.js'), 'serve', '--host', '127.0.0.1', '--port', String(port)], {
        cpus: '1',
        env: gatewayEnv({ ETCD_ENDPOINTS: etcd.url, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ETCD_EDGE_STRATEGY: 'weighted-random', ETCD_EDGE_WATCH: 'on', ...extra }),
        inheritEnv: false,
      });
  const url = `http://127.0.0.1:${port}${script ? '/' : '/svc/bench/'}`;
  await waitFor(async () => (await fetch(url)).status === 200, target, { child, ms: 60_000 });
  return { name: NAMED_PROXIES[target]?.name ?? contender, url, child };
}

/** One round: every contender loaded at once; CPU seconds per 10,000 requests of each. */
async function round(contenders) {
  const before = contenders.map((c) => treeTicks([c.child.pid]));
  const runs = await Promise.all(contenders.map((c) => wrk(c.url, CONNECTIONS, SECONDS)));
  return contenders.map((c, i) => ((treeTicks([c.child.pid]) - before[i]) / TICKS_PER_SECOND / runs[i].requests) * 10_000);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const contenders = [];
try {
  for (const target of targets) contenders.push(await start(target));
  await round(contenders); // warm-up: the JIT settles
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await round(contenders));
  console.log(`CPU s per 10,000 requests, ${contenders.length} contenders at once on core 1, ${CONNECTIONS} connections each, ${ROUNDS} rounds of ${SECONDS} s:`);
  contenders.forEach((c, i) => {
    const ratios = rounds.map((cpu) => cpu[i] / cpu[0]).sort((a, b) => a - b);
    const spread = `${ratios[0].toFixed(2)}–${ratios[ratios.length - 1].toFixed(2)}`;
    console.log(`  ${c.name}: ${median(rounds.map((cpu) => cpu[i])).toFixed(3)}; ${i === 0 ? 'baseline' : `${median(ratios).toFixed(3)}× the first [${spread}]`}`);
  });
} finally {
  for (const c of contenders) await c.child.stop();
  await backend.stop();
  await etcd.stop();
}
process.exit(0);

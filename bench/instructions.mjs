// User-space instructions per proxied request, counted by valgrind's
// callgrind: a figure the VM's steal and drift do not move, for comparing
// etcd-edge with @fastify/http-proxy, with the bare undici proxy (what Node
// and undici cost alone), or a change with the code before it.
// Each proxy runs under callgrind with counting off through a warm-up (so the
// JIT has settled), then counts over a few windows of requests at 64
// concurrent; the kernel's share (about a quarter here) is not counted.
// Threads are counted apart: V8 compiles and collects on helper threads, and
// a proxy still recompiling after the warm-up shows there, so the main
// thread's count is the steadier figure for the proxy's own work.
//   node bench/instructions.mjs [fastify|undici|ROOT ...]    (ROOT: a built etcd-edge checkout; default: fastify, undici and this one)
//   WARM=40000 N=3000 WINDOWS=3   (after 15,000 warm-up requests etcd-edge still recompiled in some windows: 195-214 k
//   against 171-172 k after 40,000)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { NAMED_PROXIES } from './lib/contenders.mjs';
import { registerInstances, startEtcd } from './lib/etcd.mjs';
import { gatewayEnv } from './lib/etcd-edge.mjs';
import { startBackend } from './lib/nginx.mjs';
import { freePort, spawnChild, waitFor } from './lib/processes.mjs';
import { ensureTools, onPath } from './lib/tools.mjs';

const WARM = Number(process.env.WARM ?? 40_000);
const N = Number(process.env.N ?? 3_000);
const WINDOWS = Number(process.env.WINDOWS ?? 3);
const CONNECTIONS = 64;
const ROOT = new URL('..', import.meta.url).pathname;

for (const command of ['valgrind', 'callgrind_control']) {
  if (!onPath(command)) throw new Error(`${command} is missing: apt-get install -y valgrind`);
}
ensureTools();
const targets = process.argv.slice(2).length ? process.argv.slice(2) : ['fastify', 'undici', ROOT];
const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-instructions-'));
const etcd = await startEtcd({ cpus: '0' });
const backend = await startBackend(await Promise.all([0, 1, 2, 3].map(freePort)), { cpus: '0' });
await registerInstances(etcd.url, 'bench', backend.urls.slice(1), 3);

/** Sends `count` GETs over `CONNECTIONS` concurrent requests, each answer read whole. */
async function drive(url, agent, count) {
  let left = count;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (left-- > 0) {
      const answer = await request(url, { dispatcher: agent });
      await answer.body.arrayBuffer();
      if (answer.statusCode !== 200) throw new Error(`${url} answered ${answer.statusCode}`);
    }
  }));
}

/** Instructions in one dump's files (one per thread; the main thread's ends in `-01`). */
function counted(window, index) {
  const count = (file) => Number(/^totals:\s+(\d+)/m.exec(readFileSync(join(dir, file), 'utf8'))?.[1] ?? NaN);
  const files = readdirSync(dir).filter((f) => f.startsWith(`${index}.out.${window}-`));
  return { main: files.filter((f) => f.endsWith('-01')).reduce((sum, f) => sum + count(f), 0), all: files.reduce((sum, f) => sum + count(f), 0) };
}

/** Instructions per request in each window (main thread and all threads), for one proxy under callgrind. */
async function measure(target, index) {
  const port = await freePort();
  const out = join(dir, `${index}.out`);
  const valgrind = ['--tool=callgrind', '--smc-check=all-non-file', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`, process.execPath];
  const script = NAMED_PROXIES[target]?.script;
  const child = script
    ? spawnChild('valgrind', [...valgrind, script], { env: { PORT: String(port), UPSTREAM: backend.urls[0] } })
    : spawnChild('valgrind', [...valgrind, join(target, 'bin/etcd-edge.js'), 'serve', '--host', '127.0.0.1', '--port', String(port)], {
        env: gatewayEnv({ ETCD_ENDPOINTS: etcd.url, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ETCD_EDGE_STRATEGY: 'weighted-random', ETCD_EDGE_WATCH: 'on' }),
        inheritEnv: false,
      });
  const url = `http://127.0.0.1:${port}${script ? '/' : '/svc/bench/'}`;
  const agent = new Agent({ connections: CONNECTIONS });
  const control = (...args) => execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'ignore' });
  try {
    await waitFor(async () => (await fetch(url)).status === 200, target, { child, ms: 300_000 });
    await drive(url, agent, WARM);
    const perRequest = [];
    for (let window = 1; window <= WINDOWS; window++) {
      control('--zero');
      control('--instr=on');
      await drive(url, agent, N);
      control('--instr=off');
      control(`--dump=window${window}`);
      const { main, all } = counted(window, index);
      perRequest.push({ main: main / N, all: all / N });
      console.error(`${target} window ${window}: ${k(main / N)} k instructions per request on the main thread, ${k(all / N)} k on all`);
    }
    return perRequest;
  } finally {
    await agent.close();
    await child.stop();
  }
}

const k = (instructions) => Math.round(instructions / 1000);

try {
  // Counts do not depend on timing, so the proxies run side by side.
  const results = await Promise.all(targets.map(measure));
  console.log(`instructions per request at ${CONNECTIONS} concurrent after ${WARM} warm-up requests, windows of ${N}:`);
  targets.forEach((target, i) => {
    const line = (thread) => results[i].map((w) => `${k(w[thread])} k`).join(', ') + ` (lowest ${k(Math.min(...results[i].map((w) => w[thread])))} k)`;
    console.log(`  ${NAMED_PROXIES[target]?.name ?? target}: main thread ${line('main')}; all threads ${line('all')}`);
  });
} finally {
  await backend.stop();
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);

// Where the Worker's JavaScript spends a request in workerd alone: V8's
// sampling profiler, through workerd's inspector, while wrk loads the
// gateway (a bundle built without minifying, so functions keep their names).
// Prints the functions with the most self time (share of the busy samples
// and µs per request) and the bundle's modules (source files, from the
// bundle's `// src/...` markers). The inspector slows the Worker: compare
// shares, or runs under the profiler with each other. workerd's C++ shows as
// the native calls JavaScript makes (fetch, Response, Headers' forEach) and
// as (program), its HTTP server and I/O outside any JavaScript.
// LINES=name,... adds, for functions of those names, their self time by
// source line and, for native ones, by the function that called them.
//   SECONDS=5 CONNECTIONS=16 TOP=30 LINES=send,fetch VARS=NAME=value,...  node bench/workerd-profile.mjs [passthrough]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { registerInstances, startEtcd } from './lib/etcd.mjs';
import { startBackend } from './lib/nginx.mjs';
import { freePort, waitFor } from './lib/processes.mjs';
import { ensureTools } from './lib/tools.mjs';
import { warmUp, wrk } from './lib/wrk.mjs';
import { startWorkerdGateway, startWorkerdPassthrough } from './lib/workerd.mjs';

const SECONDS = Number(process.env.SECONDS ?? 5);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 16);
const TOP = Number(process.env.TOP ?? 30);
const LINES = new Set((process.env.LINES ?? '').split(',').filter(Boolean));
const VARS = Object.fromEntries((process.env.VARS ?? '').split(',').filter(Boolean).map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
const bare = process.argv[2] === 'passthrough';

ensureTools();
execFileSync('taskset', ['-apc', '0', String(process.pid)], { stdio: 'ignore' });
const etcd = await startEtcd({ cpus: '0' });
const backend = await startBackend(await Promise.all([0, 1, 2, 3].map(freePort)), { cpus: '0' });
await registerInstances(etcd.url, 'bench', backend.urls.slice(1), 3);
const inspector = await freePort();
const workerdArgs = [`--inspector-addr=127.0.0.1:${inspector}`];
const worker = bare
  ? await startWorkerdPassthrough({ backend: backend.urls[0], cpus: '1', workerdArgs })
  : await startWorkerdGateway({ etcdUrl: etcd.url, cpus: '1', ready: '/svc/bench/', env: VARS, wranglerArgs: ['--no-minify'], workerdArgs });
try {
  const url = `${worker.url}${bare ? '/' : '/svc/bench/'}`;
  await warmUp(url, CONNECTIONS, 2);
  let target;
  await waitFor(async () => (target = (await (await fetch(`http://127.0.0.1:${inspector}/json/list`)).json()).find((t) => t.webSocketDebuggerUrl)), 'workerd inspector');
  const session = await connect(target.webSocketDebuggerUrl);
  await session.call('Profiler.enable');
  await session.call('Profiler.setSamplingInterval', { interval: 100 });
  await session.call('Profiler.start');
  const run = await wrk(url, CONNECTIONS, SECONDS);
  const { profile } = await session.call('Profiler.stop');
  session.close();
  console.log(`${run.requests} requests in ${SECONDS} s under the profiler (${Math.round(run.requests / SECONDS)} req/s)`);
  summarize(profile, run.requests, bare ? undefined : readFileSync(join(worker.dir, 'index.js'), 'utf8'));
} finally {
  await worker.stop();
  await backend.stop();
  await etcd.stop();
}
process.exit(0);

/** A Chrome DevTools Protocol session: `call(method, params)` resolves with the result. */
async function connect(address) {
  const ws = new WebSocket(address);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const pending = new Map();
  let id = 0;
  ws.on('message', (data) => {
    const message = JSON.parse(String(data));
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  return {
    call: (method, params = {}) => new Promise((resolve, reject) => {
      pending.set(++id, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
      ws.send(JSON.stringify({ id, method, params }));
    }),
    close: () => ws.close(),
  };
}

/** Self time per function and per source module of the bundle (esbuild marks each module's start with `// src/...`). */
function summarize(profile, requests, bundle) {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const self = new Map();
  for (const [i, sample] of profile.samples.entries()) if (!idle.has(sample)) self.set(sample, (self.get(sample) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const starts = bundle ? [...bundle.matchAll(/^\/\/ (\S+)$/gm)].map((m) => ({ line: bundle.slice(0, m.index).split('\n').length - 1, file: m[1] })) : [];
  const moduleOf = (line) => starts.findLast((s) => s.line <= line)?.file;
  const byFunction = new Map();
  const byModule = new Map();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (!us) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const module = url ? (moduleOf(lineNumber) ?? url.split('/').pop()) : '(workerd, native)';
    const name = `${functionName || '(anonymous)'} ${url ? `${module}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byModule.set(module, (byModule.get(module) ?? 0) + us);
  }
  const print = (title, map, top) => {
    console.log(`\n${title} (share of ${(total / 1e6).toFixed(2)} s sampled busy, ${(total / requests).toFixed(1)} µs per request; µs per request):`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / requests).toFixed(1).padStart(6)}  ${name}`);
  };
  print('self time by function', byFunction, TOP);
  print('self time by module', byModule, TOP);
  if (LINES.size > 0) detail(profile, self, total, requests, bundle);
}

/** For the functions named in LINES: self time by source line (a share of the function's ticks), or by caller for native ones. */
function detail(profile, self, total, requests, bundle) {
  const lines = bundle?.split('\n') ?? [];
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const rows = new Map();
  for (const node of profile.nodes) {
    const { functionName, url } = node.callFrame;
    const us = self.get(node.id) ?? 0;
    if (!us || !LINES.has(functionName)) continue;
    if (!url) {
      const caller = parentOf.get(node.id)?.callFrame;
      const key = `${functionName} <- ${caller?.functionName || '(anonymous)'}:${(caller?.lineNumber ?? -1) + 1}`;
      rows.set(key, (rows.get(key) ?? 0) + us);
      continue;
    }
    const ticks = node.positionTicks ?? [];
    const all = ticks.reduce((a, t) => a + t.ticks, 0);
    for (const { line, ticks: n } of ticks) {
      const key = `${functionName}:${line} ${(lines[line - 1] ?? '').trim().slice(0, 90)}`;
      rows.set(key, (rows.get(key) ?? 0) + (us * n) / all);
    }
  }
  console.log('\nby line or caller (µs per request):');
  for (const [name, us] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`  ${(us / requests).toFixed(1).padStart(6)}  ${name}`);
}

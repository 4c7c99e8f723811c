// etcd's load against the number of gateways (issue 22, item 6): etcd calls per
// minute (ranges, watch creates, authentications) for 1, 10 and 50 gateways
// reading two services, each gateway reading etcd itself ("direct": cache mode,
// no watch, 2 s TTL) or one snapshot relay ("relay"), and the first request of a
// cold gateway (time and etcd calls) both ways.
//
// etcd calls are counted from outside the gateways, by a counting HTTP proxy
// that every gateway and the relay use as their only etcd endpoint: it counts
// each request by path (/v3/kv/range, /v3/watch, /v3/auth/authenticate, …) and
// passes it through unchanged, streaming (a watch stays open through it). The
// harness's own calls (registration, enabling auth, /metrics) go to etcd
// directly, so they are not counted. etcd's own gRPC counters
// (grpc_server_started_total by method) are read alongside as a cross-check.
//
// etcd runs with auth on (root user), as a shared etcd would, so a gateway's
// login is one of the calls counted. Backends answer from one small Node
// process. Load: every gateway gets a GET to each service every 100 ms
// (a request is skipped, and counted, if the previous one to that gateway and
// service has not answered), for SCALE_WINDOW_S seconds (default 20), scaled to
// a minute.
//
// Settings (environment): SCALE_GATEWAYS=1,10,50  SCALE_KINDS=serve,lambda,worker
// SCALE_WINDOW_S=20  SCALE_COLD_RUNS=5  ETCD_BIN=etcd. `serve` is
// `etcd-edge serve`; `lambda` is the built Lambda handler behind
// test/lambda/bridge.mjs (API Gateway v2 events), one process per "environment".
// `worker` is the Worker in workerd (bench/lib/workers.mjs), cold starts only:
// direct, relay, and through the SnapshotHub, where a second Worker bound to
// the same hub is then asked once (a cold isolate meeting a warm hub).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, Agent } from 'node:http';
import { join } from 'node:path';
import { Pool } from 'undici';
import { registerInstances, startEtcd } from './lib/etcd.mjs';
import { gatewayEnv } from './lib/etcd-edge.mjs';
import { freePort, sleep, spawnChild, waitFor } from './lib/processes.mjs';
import { bundleWorker, startWorkers } from './lib/workers.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const COUNTS = (process.env.SCALE_GATEWAYS ?? '1,10,50').split(',').map(Number);
const KINDS = (process.env.SCALE_KINDS ?? 'serve,lambda,worker').split(',');
const WINDOW_S = Number(process.env.SCALE_WINDOW_S ?? 20);
const COLD_RUNS = Number(process.env.SCALE_COLD_RUNS ?? 5);
const INTERVAL_MS = 100;
const SERVICES = ['alpha', 'beta'];
const TTL_MS = 2000;
const PASSWORD = randomBytes(12).toString('hex');
const TOKEN = randomBytes(24).toString('hex');
/** Small processes: a gateway holds two snapshots of two instances. */
const NODE_OPTIONS = '--max-old-space-size=64 --max-semi-space-size=2';
const START_BATCH = 10;

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---------------------------------------------------------------- counting proxy

/** The kind of etcd call a path is (the JSON gateway's routes, /v3/…). */
function callKind(path) {
  const p = path.split('?')[0];
  if (p === '/v3/kv/range') return 'range';
  if (p === '/v3/watch') return 'watch';
  if (p === '/v3/auth/authenticate') return 'auth';
  return p;
}

/** An HTTP/1.1 proxy in front of etcd counting requests by kind; watches stream through. */
async function startCountingProxy(etcdUrl) {
  const target = new URL(etcdUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const counts = new Map();
  let openWatches = 0;
  const server = createServer((req, res) => {
    const kind = callKind(req.url ?? '/');
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    if (kind === 'watch') {
      openWatches++;
      res.once('close', () => openWatches--);
    }
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.once('close', () => up.destroy());
    req.pipe(up);
  });
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    snapshot: () => ({ ...Object.fromEntries(counts), openWatches }),
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(r);
      agent.destroy();
    }),
  };
}

/** etcd's own count of gRPC calls started, by method (the JSON gateway calls gRPC). */
async function grpcStarted(etcdUrl) {
  const text = await (await fetch(`${etcdUrl}/metrics`)).text();
  const out = { Range: 0, Watch: 0, Authenticate: 0 };
  for (const m of text.matchAll(/^grpc_server_started_total\{([^}]*)\} (\S+)$/gm)) {
    const method = /grpc_method="([^"]+)"/.exec(m[1])?.[1];
    if (method in out) out[method] += Number(m[2]);
  }
  return out;
}

const diff = (after, before) => {
  const out = {};
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
    if (k === 'openWatches') continue;
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
};
/** ranges + watch creates + authentications, what the issue counts. */
const etcdCalls = (d) => (d.range ?? 0) + (d.watch ?? 0) + (d.auth ?? 0);
const grpcCalls = (d) => (d.Range ?? 0) + (d.Watch ?? 0) + (d.Authenticate ?? 0);

// ---------------------------------------------------------------- etcd, backend

async function etcdJson(etcdUrl, path, body, token) {
  const res = await fetch(`${etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body), headers: token ? { authorization: token } : {} });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** A root user (password PASSWORD) and auth on: every gateway must log in, as against a shared etcd. */
async function enableAuth(etcdUrl) {
  await etcdJson(etcdUrl, '/v3/auth/user/add', { name: 'root', password: PASSWORD });
  await etcdJson(etcdUrl, '/v3/auth/role/add', { name: 'root' });
  await etcdJson(etcdUrl, '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await etcdJson(etcdUrl, '/v3/auth/enable', {});
}

/** One Node process answering 200 "ok" to everything: the instances of both services. */
async function startBackend() {
  const port = await freePort();
  const code = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }); s.end('ok'); }).listen(${port}, '127.0.0.1');`;
  const child = spawnChild(process.execPath, ['-e', code]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(url)).ok, 'backend', { child });
  return { url, child };
}

// ---------------------------------------------------------------- relay, gateways

async function startRelay(etcdProxyUrl) {
  const port = await freePort();
  const child = spawnChild(process.execPath, [join(ROOT, 'bin/etcd-edge.js'), 'relay', '--host', '127.0.0.1', '--port', String(port)], {
    env: gatewayEnv({
      ETCD_ENDPOINTS: etcdProxyUrl, ETCD_USERNAME: 'root', ETCD_PASSWORD: PASSWORD, ETCD_EDGE_RELAY_TOKENS: TOKEN,
      // Every gateway here comes from 127.0.0.1, as they would through a load balancer: the per-client limit is raised (README "Security").
      ETCD_EDGE_RELAY_RATE: '100000', ETCD_EDGE_RELAY_BURST: '100000',
    }),
    inheritEnv: false,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).ok, 'etcd-edge relay', { child });
  return { url, child };
}

function gatewayVariables(mode, etcdProxyUrl, relayUrl) {
  const common = { ETCD_EDGE_CACHE_TTL_MS: String(TTL_MS), ETCD_EDGE_ALLOW_LOOPBACK: 'true', ETCD_EDGE_STRATEGY: 'weighted-random', NODE_OPTIONS };
  return mode === 'direct'
    ? { ...common, ETCD_ENDPOINTS: etcdProxyUrl, ETCD_USERNAME: 'root', ETCD_PASSWORD: PASSWORD, ETCD_EDGE_WATCH: 'off' }
    : { ...common, ETCD_EDGE_RELAY_URL: relayUrl, ETCD_EDGE_RELAY_TOKEN: TOKEN };
}

/** Spawns one gateway; resolves with its URL once it listens (nothing asked of it yet). */
async function spawnGateway(kind, variables) {
  if (kind === 'serve') {
    const port = await freePort();
    const child = spawnChild(process.execPath, [join(ROOT, 'bin/etcd-edge.js'), 'serve', '--host', '127.0.0.1', '--port', String(port)], {
      env: gatewayEnv(variables), inheritEnv: false,
    });
    const url = `http://127.0.0.1:${port}`;
    // `/` is no service: a 404 from the gateway itself, no etcd call.
    await waitFor(async () => (await fetch(`${url}/`)).status === 404, 'etcd-edge serve', { child, ms: 120_000 });
    return { url, child };
  }
  const child = spawnChild(process.execPath, [join(ROOT, 'test/lambda/bridge.mjs')], { env: gatewayEnv(variables), inheritEnv: false });
  let url;
  await waitFor(async () => (url = /listening on (http:\/\/\S+)/.exec(child.output())?.[1]) !== undefined, 'lambda bridge', { child, ms: 120_000 });
  return { url, child };
}

/** The status of a GET and the gateway's error code, if it answered one. */
async function answer(url) {
  try {
    const res = await fetch(url);
    const text = await res.text();
    let code = '';
    try {
      code = JSON.parse(text)?.error?.code ?? '';
    } catch {
      // not JSON
    }
    return { status: res.status, code };
  } catch (error) {
    return { status: 0, code: error.cause?.code ?? error.message };
  }
}

async function get(url) {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

const rssMb = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
};

// ---------------------------------------------------------------- load

/** Every gateway gets a GET to each service every INTERVAL_MS for `seconds`, phases spread over the interval. */
async function steadyLoad(gateways, seconds) {
  const stats = { ok: 0, failed: 0, skipped: 0, statuses: {} };
  const loops = [];
  const end = performance.now() + seconds * 1000;
  const pools = gateways.map((g) => new Pool(g.url, { connections: 2, pipelining: 1 }));
  for (const pool of pools) {
    for (const service of SERVICES) {
      loops.push((async () => {
        await sleep(Math.random() * INTERVAL_MS);
        let busy = false;
        let next = performance.now();
        const pending = [];
        while (next < end) {
          if (busy) stats.skipped++;
          else {
            busy = true;
            pending.push(pool.request({ path: `/svc/${service}/`, method: 'GET' }).then(async (res) => {
              await res.body.dump();
              stats.statuses[res.statusCode] = (stats.statuses[res.statusCode] ?? 0) + 1;
              if (res.statusCode === 200) stats.ok++;
              else stats.failed++;
            }, () => { stats.failed++; }).finally(() => { busy = false; }));
          }
          next += INTERVAL_MS;
          await sleep(Math.max(0, next - performance.now()));
        }
        await Promise.all(pending);
      })());
    }
  }
  await Promise.all(loops);
  await Promise.all(pools.map((p) => p.close()));
  return stats;
}

// ---------------------------------------------------------------- phases

async function startGateways(kind, n, variables) {
  const gateways = [];
  for (let i = 0; i < n; i += START_BATCH) {
    gateways.push(...await Promise.all(Array.from({ length: Math.min(START_BATCH, n - i) }, () => spawnGateway(kind, variables))));
  }
  return gateways;
}

async function phase({ kind, mode, n, etcd, proxy }) {
  const c0 = proxy.snapshot();
  const g0 = await grpcStarted(etcd.url);
  const t0 = performance.now();
  const relay = mode === 'relay' ? await startRelay(proxy.url) : undefined;
  const gateways = await startGateways(kind, n, gatewayVariables(mode, proxy.url, relay?.url));
  // Warm: one request per gateway and service, so the window starts in steady state.
  // All at once, as when a deployment scales out; an answer other than 200 is
  // counted (with its error code) and that request retried each second, for 60 s at most.
  const warmFailures = {};
  await Promise.all(gateways.flatMap((g) => SERVICES.map(async (s) => {
    for (let attempt = 0; ; attempt++) {
      const { status, code } = await answer(`${g.url}/svc/${s}/`);
      if (status === 200) return;
      warmFailures[`${status} ${code}`] = (warmFailures[`${status} ${code}`] ?? 0) + 1;
      if (attempt >= 60) throw new Error(`${kind} ${mode} ×${n}: warm-up still answers ${status} ${code}`);
      await sleep(1000);
    }
  })));
  const setupS = (performance.now() - t0) / 1000;
  const c1 = proxy.snapshot();
  const g1 = await grpcStarted(etcd.url);
  const load = await steadyLoad(gateways, WINDOW_S);
  const c2 = proxy.snapshot();
  const g2 = await grpcStarted(etcd.url);
  const rss = gateways.map((g) => rssMb(g.child.pid)).filter((x) => !Number.isNaN(x));
  const relayRss = relay ? rssMb(relay.child.pid) : undefined;
  await Promise.all(gateways.map((g) => g.child.stop()));
  await relay?.child.stop();
  await sleep(500);
  const setup = diff(c1, c0);
  const window = diff(c2, c1);
  const result = {
    kind, mode, n, setupS, warmFailures, setup, window, windowGrpc: diff(g2, g1), setupGrpc: diff(g1, g0),
    perMinute: (etcdCalls(window) * 60) / WINDOW_S,
    perMinuteGrpc: (grpcCalls(diff(g2, g1)) * 60) / WINDOW_S,
    load, requestsPerS: (load.ok + load.failed) / WINDOW_S,
    rssMbMean: rss.reduce((a, b) => a + b, 0) / rss.length, relayRssMb: relayRss,
  };
  log(JSON.stringify(result));
  return result;
}

/** A cold gateway's first request: from spawn to its first answer, and etcd calls in that span. */
async function coldStarts({ kind, mode, etcd, proxy }) {
  const relay = mode === 'relay' ? await startRelay(proxy.url) : undefined;
  // The relay is warm (it holds the service already), as it would be in production.
  if (relay) {
    await fetch(`${relay.url}/v1/services/alpha`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.arrayBuffer());
    // Its watch is created after its first answer: let that land before counting.
    await waitFor(async () => proxy.snapshot().openWatches > 0, 'relay watch');
    await sleep(500);
  }
  const runs = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const c0 = proxy.snapshot();
    const t0 = performance.now();
    const g = await spawnGateway(kind, gatewayVariables(mode, proxy.url, relay?.url));
    const tListen = performance.now();
    const status = await get(`${g.url}/svc/alpha/`);
    const tFirst = performance.now();
    const calls = diff(proxy.snapshot(), c0);
    const status2 = await get(`${g.url}/svc/alpha/`);
    const tSecond = performance.now() - tFirst;
    await g.child.stop();
    runs.push({ status, status2, firstMs: tFirst - tListen, secondMs: tSecond, spawnToFirstMs: tFirst - t0, calls, etcdCalls: etcdCalls(calls) });
  }
  await relay?.child.stop();
  const med = (f) => runs.map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const result = { kind, mode, runs: runs.length, firstMs: med((r) => r.firstMs), secondMs: med((r) => r.secondMs), spawnToFirstMs: med((r) => r.spawnToFirstMs), etcdCalls: med((r) => r.etcdCalls), calls: runs[0].calls, statuses: runs.map((r) => `${r.status}/${r.status2}`).join(' ') };
  log(JSON.stringify(result));
  return result;
}

/**
 * A cold Worker's first request, in a fresh workerd process per run: direct,
 * relay, or through a cold SnapshotHub ("hub"); in hub mode a second Worker
 * bound to the same, now warm, hub is then asked once ("hub, warm").
 */
async function workerColdStarts({ mode, proxy, bundle }) {
  const relay = mode === 'relay' ? await startRelay(proxy.url) : undefined;
  if (relay) {
    await fetch(`${relay.url}/v1/services/alpha`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.arrayBuffer());
    await waitFor(async () => proxy.snapshot().openWatches > 0, 'relay watch');
    await sleep(500);
  }
  const { NODE_OPTIONS: _, ...vars } = gatewayVariables(mode === 'relay' ? 'relay' : 'direct', proxy.url, relay?.url);
  const hub = mode === 'hub';
  const runs = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const c0 = proxy.snapshot();
    const t0 = performance.now();
    const workers = await startWorkers({ bundle, names: hub ? ['first', 'second'] : ['first'], vars: { ...vars, ETCD_EDGE_USE_HUB: hub ? 'on' : 'off' }, hub });
    const tListen = performance.now();
    const first = await (await workers.fetch('first', 'http://gateway.test/svc/alpha/')).text().then(() => performance.now());
    const calls = diff(proxy.snapshot(), c0);
    const status = (await workers.fetch('first', 'http://gateway.test/svc/alpha/')).status;
    const tSecond = performance.now() - first;
    const run = { status, firstMs: first - tListen, secondMs: tSecond, spawnToFirstMs: first - t0, calls, etcdCalls: etcdCalls(calls) };
    if (hub) {
      const c1 = proxy.snapshot();
      const t1 = performance.now();
      const res = await workers.fetch('second', 'http://gateway.test/svc/alpha/');
      await res.text();
      const warmCalls = diff(proxy.snapshot(), c1);
      run.warm = { status: res.status, firstMs: performance.now() - t1, calls: warmCalls, etcdCalls: etcdCalls(warmCalls) };
    }
    await workers.dispose();
    runs.push(run);
  }
  await relay?.child.stop();
  const med = (f) => runs.map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const results = [{ kind: 'worker', mode, runs: runs.length, firstMs: med((r) => r.firstMs), secondMs: med((r) => r.secondMs), spawnToFirstMs: med((r) => r.spawnToFirstMs), etcdCalls: med((r) => r.etcdCalls), calls: runs[0].calls, statuses: runs.map((r) => r.status).join(' ') }];
  if (hub) {
    results.push({ kind: 'worker', mode: 'hub, warm (2nd Worker)', runs: runs.length, firstMs: med((r) => r.warm.firstMs), secondMs: NaN, spawnToFirstMs: NaN, etcdCalls: med((r) => r.warm.etcdCalls), calls: runs[0].warm.calls, statuses: runs.map((r) => r.warm.status).join(' ') });
  }
  for (const r of results) log(JSON.stringify(r));
  return results;
}

// ---------------------------------------------------------------- report

const f0 = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : Math.round(x).toLocaleString('en-US'));
const f1 = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(1));
const parts = (d) => `${d.range ?? 0} / ${d.watch ?? 0} / ${d.auth ?? 0}`;

function report(phases, colds) {
  const lines = [];
  if (phases.length === 0) return coldTable(colds).join('\n');
  lines.push(`etcd calls counted by the proxy in front of etcd (ranges / watch creates / authentications); window ${WINDOW_S} s, load ${1000 / INTERVAL_MS} GET/s to each of ${SERVICES.length} services per gateway, cache TTL ${TTL_MS} ms`);
  lines.push('');
  lines.push('| gateways | kind | reads | start + warm-up: calls (r/w/a) | window: calls (r/w/a) | etcd calls/min (window) | etcd gRPC counters/min | gateway req/s (ok, failed, skipped) | RSS/gateway |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const p of phases) {
    lines.push(`| ${p.n} | ${p.kind} | ${p.mode} | ${etcdCalls(p.setup)} (${parts(p.setup)}) in ${f1(p.setupS)} s | ${etcdCalls(p.window)} (${parts(p.window)}) | ${f0(p.perMinute)} | ${f0(p.perMinuteGrpc)} | ${f0(p.requestsPerS)} (${p.load.ok}, ${p.load.failed}, ${p.load.skipped}) | ${f0(p.rssMbMean)} MB |`);
  }
  for (const p of phases) {
    const failed = Object.entries(p.warmFailures ?? {});
    if (failed.length) lines.push(`\nwarm-up of ${p.n} ${p.kind} ${p.mode}: ${failed.map(([k, v]) => `${v}× ${k}`).join(', ')} before every gateway answered 200 for both services`);
  }
  lines.push('');
  for (const kind of KINDS.filter((k) => k !== 'worker')) {
    for (const mode of ['direct', 'relay']) {
      const mine = phases.filter((p) => p.kind === kind && p.mode === mode);
      const one = mine.find((p) => p.n === Math.min(...COUNTS));
      if (!one) continue;
      for (const p of mine) {
        if (p === one) continue;
        const total = (q) => etcdCalls(q.setup) + etcdCalls(q.window);
        const ratio = total(p) / total(one);
        const target = mode === 'relay' ? ` (target ≤ 1.1×: ${ratio <= 1.1 ? '✓' : '✗'})` : '';
        lines.push(`- ${kind} ${mode}: ${p.n} gateways cost etcd ${f1(ratio)}× what ${one.n} does over start + window (${total(p)} vs ${total(one)} calls); window per minute ${f0(p.perMinute)} vs ${f0(one.perMinute)}${target}`);
      }
    }
  }
  lines.push('');
  return [...lines, ...coldTable(colds)].join('\n');
}

/** Spawn is the process (serve, Lambda bridge) or the workerd process (worker); "after listen" starts once it answers. */
function coldTable(colds) {
  const lines = ['| cold gateway | reads | first request (after listen), median | second request | spawn → first answer | etcd calls until first answer (r/w/a) | statuses |', '|---|---|---|---|---|---|---|'];
  for (const c of colds) lines.push(`| ${c.kind} | ${c.mode} | ${f1(c.firstMs)} ms | ${f1(c.secondMs)} ms | ${f0(c.spawnToFirstMs)} ms | ${c.etcdCalls} (${parts(c.calls)}) | ${c.statuses} |`);
  return lines;
}

// ---------------------------------------------------------------- main

const etcd = await startEtcd();
const backend = await startBackend();
for (const service of SERVICES) await registerInstances(etcd.url, service, [backend.url], 2);
await enableAuth(etcd.url);
const proxy = await startCountingProxy(etcd.url);
log(`etcd ${etcd.url} (counting proxy ${proxy.url}), backend ${backend.url}; gateways ${COUNTS.join(',')}; kinds ${KINDS.join(',')}; window ${WINDOW_S} s`);
const phases = [];
const colds = [];
try {
  for (const kind of KINDS) {
    if (kind === 'worker') {
      const bundle = await bundleWorker();
      try {
        for (const mode of ['direct', 'relay', 'hub']) colds.push(...await workerColdStarts({ mode, proxy, bundle }));
      } finally {
        await bundle.remove();
      }
      continue;
    }
    for (const mode of ['direct', 'relay']) {
      for (const n of COUNTS) phases.push(await phase({ kind, mode, n, etcd, proxy }));
      colds.push(await coldStarts({ kind, mode, etcd, proxy }));
    }
  }
} catch (error) {
  log('stopped early:', error);
  process.exitCode = 1;
} finally {
  console.log(report(phases, colds));
  console.log(`\n<!-- ${JSON.stringify({ phases, colds })} -->`);
  await proxy.close();
  await backend.child.stop();
  await etcd.stop();
  // Ends every child still running (processes.mjs kills their groups on exit), even after a failure.
  process.exit();
}

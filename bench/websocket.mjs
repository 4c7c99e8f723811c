// WebSocket messages through `etcd-edge serve` against the instance directly
// and nginx as a WebSocket proxy (issue 25), in one run: a `ws` echo instance
// and a `ws` load generator on core 0 (CONNECTIONS sockets, each sending a
// 64-byte binary message and the next one when its echo comes back), the
// proxy under test on core 1. Rounds interleave the contenders; ratios to
// direct are taken round by round. Handshakes are not measured: the sockets
// are open before the warm-up.
//   npm run bench:websocket   (ROUNDS=3 SECONDS=5 CONNECTIONS=64; BENCH_SMOKE=1: one short round, a check that it runs)
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { registerInstances, startEtcd } from './lib/etcd.mjs';
import { startServe } from './lib/etcd-edge.mjs';
import { generatorRounds, summarize, table } from './lib/load-rounds.mjs';
import { startNginxWebSocketProxy } from './lib/nginx.mjs';
import { freePort, spawnChild, waitFor } from './lib/processes.mjs';
import { ensureTools, versionOf } from './lib/tools.mjs';

const BENCH = new URL('.', import.meta.url).pathname;
const SMOKE = process.env.BENCH_SMOKE === '1';
const ROUNDS = SMOKE ? 1 : Number(process.env.ROUNDS ?? 3);
const SECONDS = SMOKE ? 0.5 : Number(process.env.SECONDS ?? 5);
const WARMUP_S = SMOKE ? 0.3 : 1;
const LEVELS = (process.env.CONNECTIONS ?? (SMOKE ? '4' : '64')).split(',').map(Number);
const BYTES = 64;

ensureTools();
const etcd = await startEtcd({ cpus: '0' });
const port = await freePort();
const origin = `http://127.0.0.1:${port}`;
const instance = spawnChild(process.execPath, [join(BENCH, 'instances/ws-echo.mjs')], { cpus: '0', env: { PORT: String(port) } });
const started = [];
try {
  await waitFor(async () => (await fetch(origin)).ok, 'WebSocket instance', { child: instance });
  await registerInstances(etcd.url, 'wsbench', [origin], 1);
  const contenders = [
    { key: 'direct', name: 'direct to the instance', url: origin, path: '/', pid: undefined },
    { key: 'etcd-edge', name: 'etcd-edge serve (Node, watch mode)', path: '/svc/wsbench/', ...(await startServe({ etcdUrl: etcd.url, cpus: '1', env: { ETCD_EDGE_WATCH: 'on' }, ready: '/svc/wsbench/' })) },
    { key: 'nginx', name: 'nginx WebSocket proxy', path: '/', ...(await startNginxWebSocketProxy(origin, { cpus: '1' })) },
  ];
  started.push(...contenders);
  const loadBefore = loadavg();
  const runs = await generatorRounds(contenders, {
    script: join(BENCH, 'load/ws-pingpong.mjs'),
    rounds: ROUNDS,
    levels: LEVELS,
    unit: 'messages',
    envOf: (c, level) => ({ URL: `${c.url.replace(/^http/, 'ws')}${c.path}`, CONNECTIONS: String(level), BYTES: String(BYTES), SECONDS: String(SECONDS), WARMUP_S: String(WARMUP_S) }),
  });
  const rows = summarize(contenders, runs, LEVELS);
  if (rows.some((r) => r.errors > 0 || r.rate === 0)) throw new Error(`messages failed:\n${table(rows, { levelName: 'connections', unit: 'messages' })}`);
  console.log(`WebSocket echo round trips (${BYTES}-byte binary messages, ping-pong per connection), ${ROUNDS} rounds of ${SECONDS} s per contender; ${versionOf('nginx', ['-v'])}; Node ${process.version}`);
  console.log(`load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadavg().map((l) => l.toFixed(2)).join(' ')} after; most CPU used by other processes in a run: ${(Math.max(...rows.map((r) => r.otherCore)) * 100).toFixed(0)}% of a core`);
  console.log(table(rows, { levelName: 'connections', unit: 'messages' }));
} finally {
  for (const c of started) await c.stop?.();
  await instance.stop();
  await etcd.stop();
}
process.exit(0);

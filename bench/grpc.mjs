// gRPC unary calls through `etcd-edge serve` against the instance directly
// and nginx's `grpc_pass` (issue 25), in one run: a grpc-js instance
// (edge.test.Echo of test/support/grpc/echo.proto) and a grpc-js load
// generator on core 0, the proxy under test on core 1. Rounds interleave the
// contenders; ratios to direct are taken round by round.
//   npm run bench:grpc   (ROUNDS=3 SECONDS=5 CONCURRENCY=16,64; BENCH_SMOKE=1: one short round, a check that it runs)
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { registerInstances, startEtcd } from './lib/etcd.mjs';
import { startServe } from './lib/etcd-edge.mjs';
import { ECHO_SERVICE } from './lib/grpc-echo.mjs';
import { generatorRounds, summarize, table } from './lib/load-rounds.mjs';
import { startNginxGrpcProxy } from './lib/nginx.mjs';
import { accepts, freePort, spawnChild, waitFor } from './lib/processes.mjs';
import { ensureTools, versionOf } from './lib/tools.mjs';

const BENCH = new URL('.', import.meta.url).pathname;
const SMOKE = process.env.BENCH_SMOKE === '1';
const ROUNDS = SMOKE ? 1 : Number(process.env.ROUNDS ?? 3);
const SECONDS = SMOKE ? 0.5 : Number(process.env.SECONDS ?? 5);
const WARMUP_S = SMOKE ? 0.3 : 1;
const LEVELS = (process.env.CONCURRENCY ?? (SMOKE ? '4' : '16,64')).split(',').map(Number);

ensureTools();
const etcd = await startEtcd({ cpus: '0' });
const port = await freePort();
const instance = spawnChild(process.execPath, [join(BENCH, 'instances/grpc-echo.mjs')], { cpus: '0', env: { PORT: String(port) } });
const started = [];
try {
  await waitFor(() => accepts(port), 'gRPC instance', { child: instance });
  await registerInstances(etcd.url, ECHO_SERVICE, [`http://127.0.0.1:${port}`], 1);
  const contenders = [
    { key: 'direct', name: 'direct to the instance', url: `http://127.0.0.1:${port}`, pid: undefined },
    { key: 'etcd-edge', name: 'etcd-edge serve (Node, watch mode)', ...(await startServe({ etcdUrl: etcd.url, cpus: '1', env: { ETCD_EDGE_WATCH: 'on' } })) },
    { key: 'nginx', name: 'nginx grpc_pass', ...(await startNginxGrpcProxy(`127.0.0.1:${port}`, { cpus: '1' })) },
  ];
  started.push(...contenders);
  const loadBefore = loadavg();
  const runs = await generatorRounds(contenders, {
    script: join(BENCH, 'load/grpc-unary.mjs'),
    rounds: ROUNDS,
    levels: LEVELS,
    unit: 'calls',
    envOf: (c, level) => ({ TARGET: new URL(c.url).host, CONCURRENCY: String(level), SECONDS: String(SECONDS), WARMUP_S: String(WARMUP_S) }),
  });
  const rows = summarize(contenders, runs, LEVELS);
  if (rows.some((r) => r.errors > 0 || r.rate === 0)) throw new Error(`calls failed:\n${table(rows, { levelName: 'in flight', unit: 'calls' })}`);
  console.log(`gRPC unary calls (64-byte message), ${ROUNDS} rounds of ${SECONDS} s per contender and level; ${versionOf('nginx', ['-v'])}; Node ${process.version}`);
  console.log(`load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadavg().map((l) => l.toFixed(2)).join(' ')} after; most CPU used by other processes in a run: ${(Math.max(...rows.map((r) => r.otherCore)) * 100).toFixed(0)}% of a core`);
  console.log(table(rows, { levelName: 'in flight', unit: 'calls' }));
} finally {
  for (const c of started) await c.stop?.();
  await instance.stop();
  await etcd.stop();
}
process.exit(0);

// Profiles `etcd-edge serve` under wrk: three nginx instances registered in a
// real etcd, the gateway on core 1 with --cpu-prof, wrk on core 0. Prints the
// throughput and the heaviest functions (self time) from the profile.
//   node bench/profile.mjs [connections=64] [seconds=10] [instances=3]
//   GATEWAY_ENV='ETCD_EDGE_ACCESS_LOG=/tmp/a.log,…' sets gateway variables
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend } from './lib/nginx.mjs';
import { startEtcd, registerInstances } from './lib/etcd.mjs';
import { gatewayEnv } from './lib/etcd-edge.mjs';
import { freePort, spawnChild, waitFor, run } from './lib/processes.mjs';
import { ensureTools } from './lib/tools.mjs';

const [connections = 64, seconds = 10, count = 3] = process.argv.slice(2).map(Number);
ensureTools();
const ports = [await freePort(), await freePort(), await freePort()];
const backend = await startBackend(ports, { cpus: '0' });
const etcd = await startEtcd({ cpus: '0' });
await registerInstances(etcd.url, 'bench', ports.map((p) => `http://127.0.0.1:${p}`), count);
const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-prof-'));
const port = await freePort();
const root = new URL('..', import.meta.url).pathname;
const gateway = spawnChild('node', ['--cpu-prof', `--cpu-prof-dir=${dir}`, join(root, 'bin/etcd-edge.js'), 'serve', '--port', String(port), '--host', '127.0.0.1'], {
  env: gatewayEnv({ ETCD_ENDPOINTS: etcd.url, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ...(process.env.WATCH === '0' ? { ETCD_EDGE_WATCH: '0' } : {}), ...extraEnv(process.env.GATEWAY_ENV) }),
  cpus: '1',
});
const url = `http://127.0.0.1:${port}/svc/bench/`;

function extraEnv(text) {
  return Object.fromEntries((text ? text.split(',') : []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}
await waitFor(async () => (await fetch(url)).ok, 'gateway', { child: gateway });
await run('taskset', ['-c', '0', 'wrk', '-t1', `-c${connections}`, '-d2s', url]);
const out = await run('taskset', ['-c', '0', 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url]);
console.log(out.stdout ?? out);
await gateway.stop('SIGTERM');
await waitFor(async () => readdirSync(dir).some((f) => f.endsWith('.cpuprofile')), 'profile');
const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile')));
const profile = JSON.parse(readFileSync(file, 'utf8'));
const self = new Map();
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const dt = new Map();
for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
let total = 0;
for (const [id, us] of dt) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/')}:${cf.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + us);
  total += us;
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 45));
for (const [k, us] of top) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
console.log(`profile: ${file}`);
await backend.stop();
await etcd.stop?.();
process.exit(0);

// A throwaway etcd on loopback, registration of many instances at once, and
// its own count of range calls (from /metrics) to see how often a gateway reads.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeLayout } from '../../dist/index.js';
import { freePort, spawnChild, waitFor } from './processes.mjs';

/** etcd with its data in a temporary directory, removed by `stop()`. */
export async function startEtcd({ cpus } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-bench-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const child = spawnChild(process.env.ETCD_BIN ?? 'etcd', [`--data-dir=${dir}`, `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=default=http://127.0.0.1:${peer}`, '--log-level=error', '--logger=zap'], { cpus });
  await waitFor(async () => (await fetch(`${url}/health`)).ok, 'etcd', { child });
  return {
    url,
    pid: child.pid,
    async stop() {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const b64 = (text) => Buffer.from(text).toString('base64');

/** etcd refuses a transaction of more than 128 operations by default. */
const TXN_MAX_OPS = 128;

/**
 * Registers `count` instances of `service` in etcd-edge's native layout, spread
 * over `urls`. Ids are distinct (`i00042`), so one address can back many
 * instances: the gateway keys instances by their etcd key, not by address.
 */
export async function registerInstances(etcdUrl, service, urls, count) {
  const layout = nativeLayout();
  const records = Array.from({ length: count }, (_, i) =>
    layout.encode({ service, url: urls[i % urls.length], id: `i${String(i).padStart(5, '0')}`, weight: 1 }));
  for (let i = 0; i < records.length; i += TXN_MAX_OPS) {
    const success = records.slice(i, i + TXN_MAX_OPS).map((r) => ({ request_put: { key: b64(r.key), value: b64(r.value) } }));
    const res = await fetch(`${etcdUrl}/v3/kv/txn`, { method: 'POST', body: JSON.stringify({ success }) });
    if (!res.ok) throw new Error(`registering ${service}: etcd answered ${res.status} ${await res.text()}`);
  }
}

/**
 * Range calls etcd has served so far. The gRPC counter counts every Range
 * request (the JSON gateway calls gRPC); the MVCC one counts reads of the
 * store, including those inside transactions. Both are returned.
 */
export async function rangeCounters(etcdUrl) {
  const text = await (await fetch(`${etcdUrl}/metrics`)).text();
  const grpc = [...text.matchAll(/^grpc_server_handled_total\{[^}]*grpc_method="Range"[^}]*\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  const mvcc = Number(/^etcd_debugging_mvcc_range_total (\S+)$/m.exec(text)?.[1] ?? NaN);
  return { grpc, mvcc };
}

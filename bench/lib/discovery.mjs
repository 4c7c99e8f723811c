// What discovery costs a request: the gateway's own `Server-Timing:
// discovery;dur=` (lookup + filtering, ms with µs resolution) read from every
// response of a short load, and etcd's range calls during that load.
import { Pool } from 'undici';
import { rangeCounters } from './etcd.mjs';

const DISCOVERY = /discovery;dur=([\d.]+)/;

/** `connections` request loops for `seconds`; each response's discovery time in µs. */
async function sample(origin, path, connections, seconds) {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const micros = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  try {
    await Promise.all(Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const res = await pool.request({ path, method: 'GET' });
        await res.body.dump();
        const match = DISCOVERY.exec(res.headers['server-timing'] ?? '');
        if (res.statusCode !== 200 || !match) errors++;
        else micros.push(Number(match[1]) * 1000);
      }
    }));
  } finally {
    await pool.close();
  }
  return { micros, errors };
}

const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/**
 * Discovery figures of a running gateway for `path`: mean, p50 and p99 µs of
 * lookup + selection, and etcd range calls per second and per request, over
 * `connections` request loops. The gateway's span holds no `await` once a
 * snapshot is held, so concurrent requests do not inflate it.
 */
export async function measureDiscovery({ origin, path, etcdUrl, seconds, connections = 1 }) {
  const before = await rangeCounters(etcdUrl);
  const started = performance.now();
  const { micros, errors } = await sample(origin, path, connections, seconds);
  const elapsedS = (performance.now() - started) / 1000;
  const after = await rangeCounters(etcdUrl);
  const ranges = after.grpc - before.grpc;
  micros.sort((a, b) => a - b);
  return {
    requests: micros.length,
    errors,
    meanUs: micros.reduce((a, b) => a + b, 0) / Math.max(1, micros.length),
    p50Us: percentile(micros, 0.5),
    p99Us: percentile(micros, 0.99),
    ranges,
    mvccRanges: after.mvcc - before.mvcc,
    rangesPerS: ranges / elapsedS,
    rangesPerRequest: ranges / Math.max(1, micros.length + errors),
  };
}

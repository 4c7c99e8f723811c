// Resolver benchmark: lookups per second from a fresh snapshot, and the time
// and memory to decode a snapshot of 10 / 1,000 / 10,000 instances.
// Run with `npm run bench:resolver`; it rewrites its section of BENCHMARKS.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { EtcdClient, Resolver, buildSnapshot, decodeRecord, loadService, nativeLayout } from '../dist/index.js';
import { FakeEtcd } from '../dist/testing/index.js';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const native = nativeLayout();
const encoder = new TextEncoder();

function records(count) {
  return Array.from({ length: count }, (_, i) => {
    const r = native.encode({ service: 'bench', url: `http://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`, weight: 1 + (i % 5), tags: { zone: `z${i % 3}` } });
    return { key: encoder.encode(r.key), value: encoder.encode(r.value), createRevision: i + 2, modRevision: i + 2, version: 1, lease: '7587862345' };
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs `fn` repeatedly for about `ms`, returning operations per second (median of 5 rounds). */
async function opsPerSecond(fn, ms = 300) {
  const rounds = [];
  for (let round = 0; round < 5; round++) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 1_000; i++) await fn();
      n += 1_000;
    }
    rounds.push(n / ((performance.now() - start) / 1_000));
  }
  return median(rounds);
}

async function lookups() {
  const fake = new FakeEtcd();
  const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch });
  for (const kv of records(10)) await etcd.put(kv.key, kv.value);
  const resolver = new Resolver({ etcd, cacheTtlMs: 3_600_000 });
  await resolver.resolve('bench');
  const map = new Map([['bench', await resolver.resolve('bench')]]);
  const baseline = await opsPerSecond(async () => map.get('bench'));
  const resolve = await opsPerSecond(() => resolver.resolve('bench'));
  fake.close();
  return { baseline, resolve };
}

/** Median ms of `fn` over a number of rounds that suits the size. */
async function medianMs(count, fn) {
  for (let i = 0; i < 3; i++) await fn();
  const times = [];
  const rounds = count >= 10_000 ? 9 : count >= 1_000 ? 31 : 301;
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

async function decodeCost(count) {
  const kvs = records(count);
  const decodeOnce = () => buildSnapshot('bench', kvs.map((kv) => decodeRecord(native, kv)), 1, Date.now());
  const ms = await medianMs(count, decodeOnce);
  // A cache-mode refresh of an unchanged service: the range answer is decoded against the last snapshot.
  const etcd = { range: async () => ({ header: { revision: 1 }, kvs, count: kvs.length, more: false }) };
  const previous = decodeOnce();
  const rereadMs = await medianMs(count, () => loadService(etcd, [native], 'bench', { pageSize: 1_000, previous }));
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const kept = Array.from({ length: Math.max(5, Math.ceil(20_000 / count)) }, decodeOnce);
  globalThis.gc();
  const bytes = (process.memoryUsage().heapUsed - before) / kept.length;
  return { count, ms, rereadMs, perInstanceUs: (ms * 1_000) / count, bytes, perInstance: bytes / count };
}

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const { baseline, resolve } = await lookups();
const sizes = [];
for (const count of [10, 1_000, 10_000]) sizes.push(await decodeCost(count));
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const section = [
  '<!-- resolver:start -->',
  `Measured by \`npm run bench:resolver\` on ${cpus().length}× ${cpu.trim()}, Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}.`,
  '',
  '| lookup from a fresh snapshot | per second | ratio to baseline |',
  '|---|---:|---:|',
  `| baseline: \`await map.get(service)\` | ${fmt(baseline)} | 1.00 |`,
  `| \`await resolver.resolve(service)\` | ${fmt(resolve)} | ${fmt(resolve / baseline, 2)} |`,
  '',
  '| instances | decode + build snapshot (median) | per instance | re-read, nothing changed | snapshot heap | per instance |',
  '|---:|---:|---:|---:|---:|---:|',
  ...sizes.map(
    (s) =>
      `| ${fmt(s.count)} | ${fmt(s.ms, 3)} ms | ${fmt(s.perInstanceUs, 2)} µs | ${fmt(s.rereadMs, 3)} ms | ${fmt(s.bytes / 1024, 1)} KiB | ${fmt(s.perInstance)} B |`,
  ),
  '<!-- resolver:end -->',
].join('\n');

console.log(section);
const file = new URL('../BENCHMARKS.md', import.meta.url);
const current = readFileSync(file, 'utf8');
const updated = current.replace(/<!-- resolver:start -->[\s\S]*<!-- resolver:end -->/, section);
if (updated === current && !current.includes(section)) throw new Error('BENCHMARKS.md has no resolver section markers');
writeFileSync(file, updated);

// The proxies compared, each started on `cpus` in front of the same nginx
// backend. `path` is what wrk asks for; `pid` is the root of the process tree
// whose CPU is charged to the contender (none for direct); `label` names it
// in the chart.
import { join } from 'node:path';
import { startServe, startWranglerDev } from './etcd-edge.mjs';
import { startNginxProxy } from './nginx.mjs';
import { freePort, spawnChild, waitFor } from './processes.mjs';
import { startWorkerdGateway, startWorkerdPassthrough } from './workerd.mjs';

const PROXIES = new URL('../proxies/', import.meta.url).pathname;

/**
 * The proxies of bench/proxies/ that the A/B scripts (instructions,
 * side-by-side) accept by name beside etcd-edge checkouts.
 */
export const NAMED_PROXIES = {
  fastify: { script: join(PROXIES, 'fastify-proxy.mjs'), name: 'fastify + @fastify/http-proxy' },
  undici: { script: join(PROXIES, 'undici-proxy.mjs'), name: 'bare undici proxy' },
};

async function nodeProxy(script, upstream, cpus) {
  const port = await freePort();
  const child = spawnChild(process.execPath, [join(PROXIES, script)], { cpus, env: { PORT: String(port), UPSTREAM: upstream } });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/`)).ok, script, { child });
  return { url, pid: child.pid, child, stop: () => child.stop() };
}

/** @typedef {{ backend: string, etcdUrl: string, cpus: string }} Setup */

// etcd-edge runs right after fastify in each round: their ratio is a target, and the machine drifts.
export const CONTENDERS = [
  { key: 'direct', name: 'direct to the backend', label: 'direct', path: '/', start: async ({ backend }) => ({ url: backend, pid: undefined, stop: async () => {} }) },
  { key: 'nginx', name: 'nginx reverse proxy', label: 'nginx', path: '/', start: ({ backend, cpus }) => startNginxProxy(backend, { cpus }) },
  { key: 'fastify', name: 'fastify + @fastify/http-proxy', label: 'fastify', path: '/', start: ({ backend, cpus }) => nodeProxy('fastify-proxy.mjs', backend, cpus) },
  {
    key: 'etcd-edge',
    name: 'etcd-edge serve (Node, watch mode)',
    label: 'etcd-edge Node',
    path: '/svc/bench/',
    gateway: true,
    start: ({ etcdUrl, cpus }) => startServe({ etcdUrl, cpus, env: { ETCD_EDGE_WATCH: 'on' }, ready: '/svc/bench/' }),
  },
  { key: 'http-proxy', name: 'node http-proxy', label: 'http-proxy', path: '/', start: ({ backend, cpus }) => nodeProxy('http-proxy.mjs', backend, cpus) },
  // What Node's HTTP server and undici cost alone: the ceiling for etcd-edge on Node.
  { key: 'undici', name: 'bare undici proxy (no discovery)', label: 'bare undici', path: '/', start: ({ backend, cpus }) => nodeProxy('undici-proxy.mjs', backend, cpus) },
  // The Worker's headline: workerd alone, beside the least a Worker can do in it, one after the other in each round.
  {
    key: 'workerd',
    name: 'etcd-edge Worker (workerd alone)',
    label: 'etcd-edge workerd',
    path: '/svc/bench/',
    gateway: true,
    start: ({ etcdUrl, cpus }) => startWorkerdGateway({ etcdUrl, cpus, ready: '/svc/bench/' }),
  },
  { key: 'workerd-bare', name: 'bare passthrough Worker (workerd alone)', label: 'bare Worker', path: '/', start: ({ backend, cpus }) => startWorkerdPassthrough({ backend, cpus }) },
  {
    key: 'worker',
    name: 'etcd-edge Worker (wrangler dev, workerd)',
    label: 'etcd-edge wrangler dev',
    path: '/svc/bench/',
    gateway: true,
    start: ({ etcdUrl, cpus }) => startWranglerDev({ etcdUrl, cpus, ready: '/svc/bench/' }),
  },
];

/** The contenders BENCH_ONLY names (comma-separated keys), or all. */
export function selectedContenders(only = process.env.BENCH_ONLY) {
  if (!only) return CONTENDERS;
  const keys = only.split(',').map((k) => k.trim());
  const unknown = keys.filter((k) => !CONTENDERS.some((c) => c.key === k));
  if (unknown.length) throw new Error(`BENCH_ONLY: unknown ${unknown.join(', ')}; known: ${CONTENDERS.map((c) => c.key).join(', ')}`);
  return CONTENDERS.filter((c) => keys.includes(c.key));
}

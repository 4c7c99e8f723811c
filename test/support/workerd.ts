import { unstable_startWorker } from 'wrangler';

export type Worker = Awaited<ReturnType<typeof unstable_startWorker>>;

/** A configuration with no bindings: wrangler would otherwise read the project's wrangler.toml. */
export const TEST_WORKER_CONFIG = new URL('../workerd/wrangler.toml', import.meta.url).pathname;

/** Runs a test Worker in workerd (wrangler's local runtime) on a free loopback port. */
export function startTestWorker(name: string, entrypoint: URL, vars: Record<string, string>): Promise<Worker> {
  // wrangler would otherwise try to download request.cf data; the machine is offline.
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
  return unstable_startWorker({
    name,
    config: TEST_WORKER_CONFIG,
    entrypoint: entrypoint.pathname,
    compatibilityDate: '2026-04-01',
    bindings: Object.fromEntries(Object.entries({ ETCD_EDGE_USE_HUB: 'off', ...vars }).map(([k, value]) => [k, { type: 'plain_text', value }])),
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, watch: false, logLevel: 'error' },
  });
}

/** The gateway Worker with a snapshot hub class bound as ETCD_EDGE_HUB, its Durable Object storage kept in `persist`. */
export function startHubWorker(persist: string, vars: Record<string, string>, options: { entry?: URL; hubClass?: string } = {}): Promise<Worker> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
  const hubClass = options.hubClass ?? 'SnapshotHub';
  return unstable_startWorker({
    name: 'etcd-edge-hub',
    config: TEST_WORKER_CONFIG,
    entrypoint: (options.entry ?? new URL('../../src/adapters/worker/index.ts', import.meta.url)).pathname,
    compatibilityDate: '2026-04-01',
    bindings: {
      ...Object.fromEntries(Object.entries(vars).map(([k, value]) => [k, { type: 'plain_text' as const, value }])),
      ETCD_EDGE_HUB: { type: 'durable_object_namespace', class_name: hubClass },
    },
    migrations: [{ tag: 'v1', new_sqlite_classes: [hubClass] }],
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, watch: false, logLevel: 'error', persist },
  });
}

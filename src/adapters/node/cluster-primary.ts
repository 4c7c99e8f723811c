import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Snapshot } from '../../discovery/index.js';
import type { FetchLike } from '../../etcd/index.js';
import type { GatewayConfig } from '../../gateway/index.js';
import { createGateway, type Gateway } from '../../http/index.js';
import { HostAdmin } from './host-admin.js';
import { nodeHooks } from './hooks.js';
import { processMetrics } from './process-metrics.js';
import { HAND_OVER_MS } from './cluster-worker.js';
import { isEdgeMessage, toWire, type PrimaryMessage, type WorkerMessage } from './snapshot-ipc.js';
import { UndiciUpstream } from './undici-upstream.js';

/**
 * How often every tracked service is looked at (ms), besides the look a
 * change triggers: it keeps the service in use (watched) in the primary's
 * resolver, and pushes what no watch batch announces (a watch going down or
 * up, a resync after a lost watch).
 */
const LOOK_EVERY_MS = 1_000;
/** How long before a replacement that failed to start is tried again (ms): a worker that cannot start must not fork in a loop. */
const RETRY_FORK_MS = 1_000;
/** How long a gateway replaced by a reload lives on for the reads it is answering (ms). */
const RETIRE_AFTER_MS = 5_000;
/** The variable that tells a forked worker its slot (1 to N). */
export const WORKER_SLOT = 'ETCD_EDGE_WORKER_SLOT';

export interface ClusterPrimaryOptions {
  config: GatewayConfig;
  /** Variables for every worker on top of the primary's environment (a --config file's values); a reload replaces them. */
  workerEnv?: Readonly<Record<string, string>>;
  workers: number;
  etcdFetch?: FetchLike;
  log: (text: string) => void;
  onError?: (error: unknown) => void;
  onWarning?: (text: string) => void;
}

interface Pushed {
  snapshot: Snapshot;
  brokenSince: number | undefined;
}

/**
 * The primary of `etcd-edge serve --workers N`. It serves no request itself:
 * it holds the host's one gateway core (etcd client, watches, login, the
 * snapshot cache) and answers workers over IPC, pushing each change of a
 * tracked service to every worker that tracks it. It answers the admin
 * routes workers forward, so any worker shows the same host. Workers are
 * forked by node:cluster, which shares one listening socket among them
 * (the primary accepts and hands connections round-robin): no SO_REUSEPORT
 * needed, and a worker replaced or restarted never closes the port.
 */
export class ClusterPrimary {
  #gateway: Gateway;
  #o: ClusterPrimaryOptions;
  /** Gateways a reload replaced, each closed when its timer fires (the reads it was answering done) or the primary stops. */
  readonly #retiring = new Map<Gateway, NodeJS.Timeout>();
  readonly #slots = new Map<number, Worker>();
  readonly #subscribers = new Map<string, Set<Worker>>();
  readonly #pushed = new Map<string, Pushed>();
  readonly #hostAdmin: HostAdmin;
  readonly #ticker: NodeJS.Timeout;
  /** Services whose watch announced a change, looked at once on the next turn. */
  readonly #changed = new Set<string>();
  #admin: Server | undefined;
  #stopping = false;

  constructor(options: ClusterPrimaryOptions) {
    this.#o = options;
    this.#gateway = this.#build(options.config);
    this.#hostAdmin = new HostAdmin(() => this.#gateway, () => [...this.#slots].map(([slot, worker]) => ({ slot, pid: worker.process.pid ?? 0, ask: (id) => this.#send(worker, { etcdEdge: 1, kind: 'metrics', id }) })));
    this.#ticker = setInterval(() => this.#lookAll(), LOOK_EVERY_MS);
    cluster.on('message', (worker, message) => {
      // A message that cannot be answered (a forwarded admin request Request() refuses) must not take the host down.
      if (isEdgeMessage(message)) this.#receive(worker, message as WorkerMessage).catch((error: unknown) => this.#o.onError?.(error));
    });
    cluster.on('exit', (worker, code, signal) => this.#exited(worker, code, signal));
  }

  /** The host's one gateway core: etcd client, watches, snapshot cache, admin routes. */
  get gateway(): Gateway {
    return this.#gateway;
  }

  #build(config: GatewayConfig): Gateway {
    const options = this.#o;
    return createGateway({
      config,
      // The primary proxies nothing: an upstream nobody calls.
      upstream: new UndiciUpstream({ connectTimeoutMs: config.retry.connectTimeoutMs }),
      hooks: nodeHooks,
      exposeMetrics: true,
      adminApart: config.adminListener !== undefined,
      runtimeMetrics: processMetrics,
      onSnapshotChange: (service) => this.#announce(service),
      ...(options.etcdFetch ? { etcdFetch: options.etcdFetch } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
  }

  /**
   * A reload's new configuration: workers forked from now on get `workerEnv`,
   * and the primary's own side (etcd client, login, watches, admin) is built
   * anew from `config`, every tracked service read again and pushed to its
   * workers. The old core answers the reads under way, then is closed.
   * The listeners stay as they are: the caller refuses a reload that moves them.
   */
  reconfigure(config: GatewayConfig, workerEnv: Readonly<Record<string, string>>): void {
    const old = this.#gateway;
    this.#o = { ...this.#o, config, workerEnv };
    this.#gateway = this.#build(config);
    this.#pushed.clear();
    this.#lookAll();
    this.#retiring.set(old, setTimeout(() => void this.#retire(old), RETIRE_AFTER_MS));
  }

  #retire(gateway: Gateway): Promise<void> {
    clearTimeout(this.#retiring.get(gateway));
    this.#retiring.delete(gateway);
    return gateway.close().catch((error: unknown) => this.#o.onError?.(error));
  }

  /** Forks every worker; resolves with the address they listen on once all do. */
  async start(): Promise<AddressInfo> {
    const listening = await Promise.all(Array.from({ length: this.#o.workers }, (_, i) => this.#fork(i + 1)));
    const { config } = this.#o;
    if (this.gateway.admin && config.adminListener) {
      const app = getRequestListener((request) => this.#hostAdmin.answer(request));
      this.#admin = createServer((incoming, outgoing) => void app(incoming, outgoing));
      const admin = this.#admin;
      await new Promise<void>((resolve, reject) => {
        admin.once('error', reject);
        admin.listen(config.adminListener!.port, config.adminListener!.host, () => resolve());
      });
    }
    return listening[0]!;
  }

  /** The admin listener's address, when admin routes have a port of their own. */
  get adminAddress(): AddressInfo | undefined {
    return this.#admin?.address() as AddressInfo | undefined;
  }

  /** SIGHUP: replaces the workers one at a time, each new one listening before the old one drains. */
  async restart(drainMs: number): Promise<void> {
    for (const [slot, old] of [...this.#slots]) {
      if (this.#stopping) return;
      await this.#fork(slot);
      await this.#drain(old, drainMs, true);
    }
  }

  /** SIGTERM: every worker drains (stops accepting, finishes in flight), then etcd is let go. */
  async close(drainMs: number): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#ticker);
    this.#admin?.closeAllConnections();
    this.#admin?.close();
    await Promise.all([...this.#slots.values()].map((worker) => this.#drain(worker, drainMs, false)));
    await Promise.all([this.#gateway.close(), ...[...this.#retiring.keys()].map((gateway) => this.#retire(gateway))]);
  }

  #fork(slot: number): Promise<AddressInfo> {
    const worker = cluster.fork({ ...this.#o.workerEnv, [WORKER_SLOT]: String(slot) });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`worker ${slot} exited (${code}) before it listened`));
      worker.once('exit', onExit);
      worker.once('listening', (address) => {
        worker.off('exit', onExit);
        // The new worker takes the slot now; the one it replaces (a restart) drains apart.
        this.#slots.set(slot, worker);
        resolve({ address: address.address ?? '0.0.0.0', port: address.port, family: String(address.addressType) === '6' ? 'IPv6' : 'IPv4' });
      });
    });
  }

  #drain(worker: Worker, drainMs: number, rolling: boolean): Promise<void> {
    if (worker.isDead()) return Promise.resolve();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.#send(worker, { etcdEdge: 1, kind: 'drain', rolling });
    // A worker that does not finish its drain in time (plus a margin) is killed.
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), drainMs + (rolling ? HAND_OVER_MS : 0) + 5_000);
    return exited.finally(() => clearTimeout(timer));
  }

  #exited(worker: Worker, code: number | null, signal: string | null): void {
    for (const subscribers of this.#subscribers.values()) subscribers.delete(worker);
    const slot = [...this.#slots].find(([, held]) => held === worker)?.[0];
    if (slot === undefined || this.#stopping) return;
    this.#slots.delete(slot);
    this.#o.log(`worker ${slot} (pid ${worker.process.pid}) exited (${signal ?? code}); starting another`);
    this.#replace(slot);
  }

  #replace(slot: number): void {
    this.#fork(slot).catch((error: unknown) => {
      this.#o.log(`worker ${slot} could not start: ${error instanceof Error ? error.message : String(error)}; trying again in ${RETRY_FORK_MS} ms`);
      setTimeout(() => this.#stopping || this.#slots.has(slot) || this.#replace(slot), RETRY_FORK_MS).unref();
    });
  }

  async #receive(worker: Worker, message: WorkerMessage): Promise<void> {
    switch (message.kind) {
      case 'read':
      case 'track':
        return this.#answerRead(worker, message);
      case 'untrack':
        this.#subscribers.get(message.service)?.delete(worker);
        return;
      case 'admin':
        this.#send(worker, await this.#hostAdmin.answerForwarded(message));
        return;
      case 'metrics':
        this.#hostAdmin.metricsArrived(message.id, message.text);
        return;
    }
  }

  async #answerRead(worker: Worker, message: Extract<WorkerMessage, { kind: 'read' | 'track' }>): Promise<void> {
    const { resolver } = this.#gateway;
    try {
      const snapshot = await resolver.resolve(message.service);
      const brokenSince = resolver.status(message.service)?.watchDownSince;
      if (message.kind === 'track') {
        const subscribers = this.#subscribers.get(message.service) ?? this.#subscribers.set(message.service, new Set()).get(message.service)!;
        subscribers.add(worker);
        if (!this.#pushed.has(message.service)) this.#pushed.set(message.service, { snapshot, brokenSince });
      }
      const unchanged = message.kind === 'read' && message.held === snapshot.revision;
      this.#send(worker, { etcdEdge: 1, kind: 'snapshot', id: message.id, snapshot: unchanged ? undefined : snapshot, brokenSince });
    } catch (error) {
      this.#send(worker, { etcdEdge: 1, kind: 'failed', id: message.id, error: toWire(error) });
    }
  }

  /** A watch batch changed `service`: looked at on the next turn, once however many batches came. */
  #announce(service: string): void {
    if (!this.#subscribers.has(service)) return;
    if (this.#changed.size === 0) {
      setImmediate(() => {
        for (const changed of this.#changed) this.#look(changed);
        this.#changed.clear();
      });
    }
    this.#changed.add(service);
  }

  #lookAll(): void {
    for (const service of this.#subscribers.keys()) this.#look(service);
  }

  /** A tracked service, looked at: a new snapshot (or a watch going down or up) goes to its subscribers. */
  #look(service: string): void {
    const subscribers = this.#subscribers.get(service);
    if (!subscribers) return;
    if (subscribers.size === 0) {
      this.#subscribers.delete(service);
      this.#pushed.delete(service);
      return;
    }
    const { resolver } = this.#gateway;
    let now;
    try {
      // A lookup, not a peek: it keeps the service in use (watched) and resyncs a lost watch.
      now = resolver.resolveNow(service);
    } catch {
      return;
    }
    if (now instanceof Promise) {
      // A lost watch's resync (or a read after it): what it brings is pushed when it lands.
      now.then(() => this.#look(service), () => undefined);
      return;
    }
    const brokenSince = resolver.status(service)?.watchDownSince;
    const last = this.#pushed.get(service);
    if (last && last.snapshot === now && last.brokenSince === brokenSince) return;
    this.#pushed.set(service, { snapshot: now, brokenSince });
    for (const worker of subscribers) this.#send(worker, { etcdEdge: 1, kind: 'changed', service, snapshot: now, brokenSince });
  }

  #send(worker: Worker, message: PrimaryMessage): void {
    // A worker that is gone has nothing to be told; its exit is handled apart.
    if (worker.isConnected()) worker.send(message, (error: Error | null) => void error);
  }
}

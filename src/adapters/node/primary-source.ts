import type { Snapshot, SnapshotSource, Tracked, Tracker } from '../../discovery/index.js';
import { fromWire, frozen, isEdgeMessage, type PrimaryMessage, type WorkerMessage } from './snapshot-ipc.js';

/** How long the primary may take to answer a read (ms): it bounds its own etcd reads, this only catches a lost answer. */
const ASK_BOUND_MS = 15_000;

/** The channel to the primary: `process` in a cluster worker. */
export interface PrimaryChannel {
  send(message: WorkerMessage): void;
  on(event: 'message', listener: (message: unknown) => void): void;
}

interface Pending {
  resolve: (answer: Extract<PrimaryMessage, { kind: 'snapshot' }>) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface Held {
  snapshot: Snapshot;
  brokenSince: number | undefined;
}

/**
 * A worker's snapshot source under `serve --workers N`: the primary holds
 * etcd (its connections, watches, login) for the whole host, and this asks
 * it over IPC. In cache mode a read asks with the revision held ("unchanged"
 * costs nothing); in watch mode a tracked service is pushed to this worker
 * on every change, so the worker's resolver serves it with no call at all.
 * The resolver on top keeps its semantics (TTL, single flight, stale-if-error).
 */
export class PrimarySource implements SnapshotSource, Tracker {
  readonly #channel: PrimaryChannel;
  readonly #pending = new Map<number, Pending>();
  readonly #tracked = new Map<string, Held>();
  readonly #tracking = new Map<string, Promise<Snapshot>>();
  #next = 1;
  #closed = false;

  constructor(channel: PrimaryChannel) {
    this.#channel = channel;
    channel.on('message', (message) => {
      if (isEdgeMessage(message)) this.#receive(message as PrimaryMessage);
    });
  }

  get callBoundMs(): number {
    return ASK_BOUND_MS;
  }

  get feedCount(): number {
    return this.#tracked.size;
  }

  async read(service: string, previous: Snapshot | undefined): Promise<Snapshot> {
    const answer = await this.#ask((id) => ({ etcdEdge: 1, kind: 'read', id, service, held: previous?.revision }));
    if (answer.snapshot) return frozen(answer.snapshot);
    if (previous) return previous;
    throw new TypeError('the primary answered "unchanged" to a worker holding nothing');
  }

  /** Watch mode over the primary: this source keeps services current itself. */
  tracker(): Tracker {
    return this;
  }

  live(service: string): Tracked | undefined {
    const held = this.#tracked.get(service);
    if (!held) return undefined;
    return { brokenSince: held.brokenSince, built: held.snapshot, snapshot: () => held.snapshot };
  }

  track(service: string): Promise<Snapshot> {
    const held = this.#tracked.get(service);
    if (held) return Promise.resolve(held.snapshot);
    let tracking = this.#tracking.get(service);
    if (!tracking) {
      tracking = this.#ask((id) => ({ etcdEdge: 1, kind: 'track', id, service })).then((answer) => {
        const snapshot = frozen(answer.snapshot!);
        if (this.#tracking.get(service) === tracking && !this.#closed) this.#tracked.set(service, { snapshot, brokenSince: answer.brokenSince });
        return snapshot;
      });
      const settle = (): void => void (this.#tracking.get(service) === tracking && this.#tracking.delete(service));
      tracking.then(settle, settle);
      this.#tracking.set(service, tracking);
    }
    return tracking;
  }

  untrack(service: string): void {
    this.#tracking.delete(service);
    if (this.#tracked.delete(service)) this.#channel.send({ etcdEdge: 1, kind: 'untrack', service });
  }

  close(): void {
    this.#closed = true;
    this.#tracked.clear();
  }

  #ask(message: (id: number) => WorkerMessage): Promise<Extract<PrimaryMessage, { kind: 'snapshot' }>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the primary did not answer within ${ASK_BOUND_MS} ms`));
      }, ASK_BOUND_MS);
      this.#pending.set(id, { resolve, reject, timer });
      this.#channel.send(message(id));
    });
  }

  #receive(message: PrimaryMessage): void {
    if (message.kind === 'changed') {
      if (this.#tracked.has(message.service)) this.#tracked.set(message.service, { snapshot: frozen(message.snapshot), brokenSince: message.brokenSince });
      return;
    }
    if (message.kind !== 'snapshot' && message.kind !== 'failed') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.kind === 'snapshot') pending.resolve(message);
    else pending.reject(fromWire(message.error));
  }
}

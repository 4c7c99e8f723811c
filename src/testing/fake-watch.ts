import type { FakeStore, StoreEvent, StoredKv } from './fake-store.js';
import { wireKv } from './fake-wire.js';

export interface WatchCreate {
  key: string;
  end: string | undefined;
  startRevision: number;
  prevKv: boolean;
  progressNotify: boolean;
}

type Header = (revision?: number) => Record<string, string>;

const encoder = new TextEncoder();

/** etcd's `watchBatchMaxRevs`: revisions per history batch sent to a catching-up watcher. */
const HISTORY_BATCH_REVISIONS = 1000;

/** One open `/v3/watch` stream of the fake. */
class FakeWatchStream {
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  readonly body: ReadableStream<Uint8Array>;
  #closed = false;

  constructor(
    readonly create: WatchCreate,
    readonly onClose: () => void,
  ) {
    this.body = new ReadableStream({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => this.close(),
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(message: unknown): void {
    if (!this.#closed) this.#controller!.enqueue(encoder.encode(`${JSON.stringify(message)}\n`));
  }

  matches(key: string): boolean {
    const { key: from, end } = this.create;
    if (end === undefined) return key === from;
    return key >= from && (end === '\0' || key < end);
  }

  /** Ends the stream mid-flight: an error, or half a line then EOF. */
  break(mode: 'error' | 'truncate'): void {
    if (this.#closed) return;
    if (mode === 'truncate') {
      this.#controller!.enqueue(encoder.encode('{"result":{"header":{"revi'));
      this.#controller!.close();
    } else {
      this.#controller!.error(new TypeError('terminated'));
    }
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose();
  }

  end(): void {
    if (!this.#closed) this.#controller!.close();
    this.close();
  }
}

/** Every watch stream of the fake, fed by the store's commits. */
export class FakeWatchHub {
  #streams = new Set<FakeWatchStream>();

  constructor(
    private readonly store: FakeStore,
    private readonly header: Header,
  ) {}

  get size(): number {
    return this.#streams.size;
  }

  /**
   * Opens a stream. With `refusal` (an auth failure, as etcd words it), the
   * watch is created and canceled in one message and delivers nothing.
   */
  open(create: WatchCreate, signal: AbortSignal | undefined, refusal?: string): ReadableStream<Uint8Array> {
    const stream = new FakeWatchStream(create, () => this.#streams.delete(stream));
    this.#streams.add(stream);
    signal?.addEventListener('abort', () => stream.end(), { once: true });
    // Aborted while the request was on its way (its body being read): no 'abort' event is coming.
    if (signal?.aborted) stream.end();
    if (refusal !== undefined) {
      stream.send({ result: { header: this.header(), watch_id: '-1', created: true, canceled: true, cancel_reason: refusal } });
      return stream.body;
    }
    stream.send({ result: { header: this.header(), created: true } });
    const start = create.startRevision;
    if (start > 0 && start < this.store.compactRevision) {
      stream.send({
        result: { header: this.header(0), canceled: true, compact_revision: String(this.store.compactRevision) },
      });
      return stream.body;
    }
    if (start > 0) this.#catchUp(stream, start);
    return stream.body;
  }

  /**
   * History for a watcher that starts in the past, in batches of at most
   * HISTORY_BATCH_REVISIONS revisions that concern it, each stamped with the
   * current store revision (not the last revision it carries), as etcd does.
   */
  #catchUp(stream: FakeWatchStream, start: number): void {
    const mine = this.store
      .changesSince(start)
      .map((c) => c.events.filter((e) => stream.matches(e.kv.key)))
      .filter((events) => events.length > 0);
    for (let i = 0; i < mine.length; i += HISTORY_BATCH_REVISIONS) {
      stream.send(this.#batch(stream, this.store.revision, mine.slice(i, i + HISTORY_BATCH_REVISIONS).flat()));
    }
  }

  publish(revision: number, events: StoreEvent[]): void {
    for (const stream of this.#streams) {
      if (revision < stream.create.startRevision) continue;
      const mine = events.filter((e) => stream.matches(e.kv.key));
      if (mine.length > 0) stream.send(this.#batch(stream, revision, mine));
    }
  }

  /** Sends a progress notification to every stream that asked for them. */
  notifyProgress(): void {
    for (const stream of this.#streams) {
      if (stream.create.progressNotify) stream.send({ result: { header: this.header() } });
    }
  }

  breakAll(mode: 'error' | 'truncate'): number {
    const streams = [...this.#streams];
    for (const stream of streams) stream.break(mode);
    return streams.length;
  }

  closeAll(): void {
    for (const stream of [...this.#streams]) stream.end();
  }

  #batch(stream: FakeWatchStream, revision: number, events: StoreEvent[]): unknown {
    return {
      result: {
        header: this.header(revision),
        events: events.map((e) => ({
          ...(e.type === 'delete' ? { type: 'DELETE' } : {}),
          kv: e.type === 'delete' ? { key: wireKv(e.kv).key, mod_revision: String(e.kv.modRevision) } : wireKv(e.kv),
          ...(stream.create.prevKv && e.prevKv ? { prev_kv: wireKv(e.prevKv as StoredKv) } : {}),
        })),
      },
    };
  }
}

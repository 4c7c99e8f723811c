import { EtcdClient, EtcdError, nativeLayout } from '../../../src/index.js';
import type { LoadLoop } from './load.js';

/**
 * Which backend answered each request of a load loop, by time, so a test can
 * tell when the gateway started (or stopped) sending to one. Reads the
 * `backend` field of the echo backends' JSON answers.
 */
export class RouteLog {
  readonly #times = new Map<string, number[]>();
  #answers: number[] = [];

  constructor(loop: LoadLoop) {
    loop.onAnswer = ({ status, body }) => {
      const now = Date.now();
      this.#answers.push(now);
      if (status !== 200) return;
      const name = backendOf(body);
      if (name === undefined) return;
      const times = this.#times.get(name);
      if (times) times.push(now);
      else this.#times.set(name, [now]);
    };
  }

  /** When `backend` first answered at or after `since` (ms since the epoch), if it has. */
  firstSince(backend: string, since: number): number | undefined {
    return this.#times.get(backend)?.find((t) => t >= since);
  }

  /** When `backend` last answered, if ever. */
  last(backend: string): number | undefined {
    return this.#times.get(backend)?.at(-1);
  }

  /** Answers (from any backend) at or after `since`. */
  answersSince(since: number): number {
    let count = 0;
    for (let i = this.#answers.length - 1; i >= 0 && this.#answers[i]! >= since; i--) count++;
    return count;
  }

  /**
   * True once `backend` has not answered for `quietMs` and at least `answers`
   * others came back meanwhile: it is no longer routed to.
   */
  gone(backend: string, quietMs: number, answers: number): boolean {
    const last = this.last(backend) ?? 0;
    return Date.now() - last >= quietMs && this.answersSince(last + 1) >= answers;
  }
}

function backendOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { backend?: string }).backend;
  } catch {
    return undefined;
  }
}

/**
 * Registers and removes native-layout instances, repeating a call etcd could
 * not answer (no leader yet, a member just killed) until `ms` runs out. Putting
 * or deleting the same key again is harmless, so an unknown outcome is simply retried.
 */
export class Registry {
  readonly #etcd: EtcdClient;
  readonly #layout = nativeLayout();

  constructor(endpoints: readonly string[]) {
    this.#etcd = new EtcdClient({ endpoints, timeoutMs: 1_000, writeTimeoutMs: 2_000, endpointCooldownMs: 200 });
  }

  /** Puts the instance; resolves with the revision etcd wrote it at. */
  add(service: string, url: string, ms = 15_000): Promise<number> {
    const record = this.#layout.encode({ service, url, weight: 1, tags: {} });
    return this.#retry(async () => (await this.#etcd.put(record.key, record.value)).header.revision, ms);
  }

  remove(service: string, url: string, ms = 15_000): Promise<number> {
    const { key } = this.#layout.encode({ service, url, weight: 1, tags: {} });
    return this.#retry(async () => (await this.#etcd.delete(key)).header.revision, ms);
  }

  async #retry(call: () => Promise<number>, ms: number): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof EtcdError) || !error.retryable || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

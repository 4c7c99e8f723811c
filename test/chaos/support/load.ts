import { Agent, request } from 'undici';

export interface LoadOptions {
  /** Base URL of the gateway, e.g. `http://127.0.0.1:8080`. */
  base: string;
  /** Request path for the i-th request (counted across all clients). */
  path: (i: number) => string;
  method?: string;
  /** Request body for the i-th request. */
  body?: (i: number) => string | undefined;
  headers?: (i: number) => Record<string, string>;
  /** Clients sending in parallel; default 4. */
  concurrency?: number;
  /** Pause after each answer, per client, so the loop is steady rather than flat out; default 5 ms. */
  pauseMs?: number;
  /** A request with no answer by then counts as failed; default 10 s. */
  timeoutMs?: number;
}

export interface Failure {
  /** Milliseconds since the loop started. */
  at: number;
  path: string;
  /** HTTP status, or the client error's code when there was no answer. */
  status: number | string;
  body: string;
}

export interface LoadReport {
  sent: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  /** The first 50 failures, for the assertion message. */
  failures: Failure[];
  latencyMs: { p50: number; p99: number; max: number };
  durationMs: number;
}

const KEEP_FAILURES = 50;

/**
 * A steady request loop against a running gateway: `concurrency` clients each
 * send, read the whole answer, pause, and send again until `stop()`. Any answer
 * that is not 2xx, and any request without an answer, is a failure.
 */
export class LoadLoop {
  readonly #options: Required<Omit<LoadOptions, 'body' | 'headers'>> & Pick<LoadOptions, 'body' | 'headers'>;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  readonly #started = Date.now();
  readonly #latencies: number[] = [];
  readonly #statuses: Record<string, number> = {};
  readonly #failures: Failure[] = [];
  readonly #clients: Promise<void>[] = [];
  #stopped = false;
  #next = 0;
  #ok = 0;
  #failed = 0;
  /** Called with every answer's body text and status (successful or not). */
  onAnswer: ((answer: { i: number; status: number; body: string }) => void) | undefined;

  constructor(options: LoadOptions) {
    this.#options = { method: 'GET', concurrency: 4, pauseMs: 5, timeoutMs: 10_000, ...options };
    for (let c = 0; c < this.#options.concurrency; c++) this.#clients.push(this.#client());
  }

  static start(options: LoadOptions): LoadLoop {
    return new LoadLoop(options);
  }

  get sent(): number {
    return this.#next;
  }

  get failed(): number {
    return this.#failed;
  }

  get ok(): number {
    return this.#ok;
  }

  /** Waits until at least `count` more answers (of any kind) have come back. */
  async answers(count: number, ms = 30_000): Promise<void> {
    const target = this.#ok + this.#failed + count;
    const deadline = Date.now() + ms;
    while (this.#ok + this.#failed < target) {
      if (Date.now() > deadline) throw new Error(`load loop: fewer than ${count} answers within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<LoadReport> {
    this.#stopped = true;
    await Promise.all(this.#clients);
    await this.#agent.close();
    const sorted = this.#latencies.slice().sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      sent: this.#next,
      ok: this.#ok,
      failed: this.#failed,
      statuses: { ...this.#statuses },
      failures: this.#failures.slice(),
      latencyMs: { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? 0) },
      durationMs: Date.now() - this.#started,
    };
  }

  async #client(): Promise<void> {
    const o = this.#options;
    while (!this.#stopped) {
      const i = this.#next++;
      const path = o.path(i);
      const began = performance.now();
      let status: number | string;
      let text = '';
      try {
        const body = o.body?.(i);
        const response = await request(new URL(path, o.base), {
          method: o.method as 'GET',
          dispatcher: this.#agent,
          headersTimeout: o.timeoutMs,
          bodyTimeout: o.timeoutMs,
          ...(o.headers ? { headers: o.headers(i) } : {}),
          ...(body === undefined ? {} : { body }),
        });
        status = response.statusCode;
        text = await response.body.text();
      } catch (error) {
        status = (error as { code?: string }).code ?? (error as Error).name;
      }
      this.#latencies.push(performance.now() - began);
      this.#statuses[status] = (this.#statuses[status] ?? 0) + 1;
      if (typeof status === 'number' && status >= 200 && status < 300) this.#ok++;
      else {
        this.#failed++;
        if (this.#failures.length < KEEP_FAILURES) this.#failures.push({ at: Date.now() - this.#started, path, status, body: text.slice(0, 300) });
      }
      this.onAnswer?.({ i, status: typeof status === 'number' ? status : 0, body: text });
      if (o.pauseMs > 0 && !this.#stopped) await new Promise((r) => setTimeout(r, o.pauseMs));
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** "0 of 1,234" style summary of a report's failures, with the statuses seen when any failed. */
export function failureSummary(report: LoadReport): string {
  const base = `${report.failed.toLocaleString('en-US')} of ${report.sent.toLocaleString('en-US')}`;
  if (report.failed === 0) return base;
  const kinds = Object.entries(report.statuses)
    .filter(([status]) => !/^2\d\d$/.test(status))
    .map(([status, count]) => `${count}× ${status}`)
    .join(', ');
  return `${base} (${kinds})`;
}

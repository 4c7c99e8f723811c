import type { Gateway } from '../../http/index.js';
import { hostMetrics, type WorkerMetrics } from './host-metrics.js';
import type { PrimaryMessage, WorkerMessage } from './snapshot-ipc.js';

/** How long a worker may take to send its metrics before `/_edge/metrics` goes without them (ms). */
const METRICS_BOUND_MS = 2_000;

/** A worker as the admin routes see it: its slot, its pid, and how to ask it for its metrics text. */
export interface AdminWorker {
  slot: number;
  pid: number;
  ask(id: number): void;
}

/**
 * The admin routes of `serve --workers N`, answered by the primary's
 * gateway whichever worker received them (forwarded over IPC) or on the
 * primary's own admin listener: health and services read the host's one
 * snapshot cache, and `/_edge/metrics` merges every worker's figures in.
 */
export class HostAdmin {
  /** The primary's gateway as it is now: a reload replaces it. */
  readonly #gateway: () => Gateway;
  readonly #workers: () => AdminWorker[];
  readonly #asked = new Map<number, (text: string) => void>();
  #next = 1;

  constructor(gateway: () => Gateway, workers: () => AdminWorker[]) {
    this.#gateway = gateway;
    this.#workers = workers;
  }

  /** An admin request, as the primary's gateway answers it; `/_edge/metrics` with every worker's figures merged in. */
  async answer(request: Request): Promise<Response> {
    const gateway = this.#gateway();
    const app = gateway.admin ?? gateway.app;
    const metrics = new URL(request.url).pathname === '/_edge/metrics' && request.method === 'GET';
    const workers = metrics ? await this.#workerMetrics() : [];
    const response = await app.fetch(request);
    if (!metrics || response.status !== 200) return response;
    return new Response(hostMetrics(await response.text(), workers), { status: 200, headers: response.headers });
  }

  /** An admin request a worker forwarded, answered for it to send on. */
  async answerForwarded(message: Extract<WorkerMessage, { kind: 'admin' }>): Promise<PrimaryMessage> {
    const body = message.body === '' || message.method === 'GET' || message.method === 'HEAD' ? undefined : Buffer.from(message.body, 'base64');
    const request = new Request(new URL(message.url, 'http://gateway.invalid'), { method: message.method, headers: message.headers, ...(body ? { body } : {}) });
    const response = await this.answer(request);
    const headers: [string, string][] = [];
    response.headers.forEach((value, name) => void (name !== 'set-cookie' && headers.push([name, value])));
    for (const cookie of response.headers.getSetCookie()) headers.push(['set-cookie', cookie]);
    const answer = Buffer.from(await response.arrayBuffer()).toString('base64');
    return { etcdEdge: 1, kind: 'admin', id: message.id, status: response.status, headers, body: answer };
  }

  /** A worker's answer to `ask`. */
  metricsArrived(id: number, text: string): void {
    this.#asked.get(id)?.(text);
  }

  #workerMetrics(): Promise<WorkerMetrics[]> {
    return Promise.all(
      this.#workers().map(async ({ slot, pid, ask }) => {
        const id = this.#next++;
        const text = await new Promise<string>((resolve) => {
          const timer = setTimeout(() => resolve(''), METRICS_BOUND_MS);
          this.#asked.set(id, (answer) => {
            clearTimeout(timer);
            resolve(answer);
          });
          ask(id);
        });
        this.#asked.delete(id);
        return { worker: slot, pid, text };
      }),
    );
  }
}

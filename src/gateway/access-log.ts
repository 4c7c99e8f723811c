/** Where access log lines go: one JSON object per line, without the newline. */
export type AccessLogSink = (line: string) => void;

/** What is known of a request when its outcome is decided; the runtime adds what it sent. */
export interface AccessFacts {
  requestId: string;
  /** The client's address (a trusted proxy's word for it, else the peer). */
  client: string | undefined;
  method: string;
  /** The path as received, without the query (queries carry tokens often enough to keep them out of logs). */
  path: string;
  service: string | undefined;
  /** The instance that answered, when one did. */
  instance: string | undefined;
  attempts: number;
}

/**
 * One request's access log line, written once the runtime has sent the
 * answer: time, request id, client, method, path, service, instance, status,
 * body bytes sent, duration and attempts. Made only when the access log is
 * on, so a gateway without one pays nothing per request.
 */
export class AccessRecord {
  readonly #sink: AccessLogSink;
  readonly #facts: AccessFacts;
  readonly #startedAt: number;
  #written = false;

  constructor(sink: AccessLogSink, facts: AccessFacts, startedAt: number) {
    this.#sink = sink;
    this.#facts = facts;
    this.#startedAt = startedAt;
  }

  /** The answer was sent (`complete`), or cut off (the client went away, the instance broke off). */
  sent(status: number, bytes: number, complete = true): void {
    if (this.#written) return;
    this.#written = true;
    const f = this.#facts;
    const line = {
      time: new Date().toISOString(),
      requestId: f.requestId,
      client: f.client ?? null,
      method: f.method,
      path: f.path,
      service: f.service ?? null,
      instance: f.instance ?? null,
      status,
      bytes,
      durationMs: Math.round((performance.now() - this.#startedAt) * 1000) / 1000,
      attempts: f.attempts,
      ...(complete ? {} : { incomplete: true }),
    };
    try {
      this.#sink(JSON.stringify(line));
    } catch {
      // A full disk or a closed stream must not fail the request it describes.
    }
  }
}

/** Where access log lines go: one JSON object per line, without the newline. */
export type AccessLogSink = (line: string) => void;

/** The last timestamp written, reused within its millisecond: a busy gateway logs several requests in each. */
let lastMs = 0;
let lastIso = '';

function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

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

  /** The answer was sent (`complete`), or cut off (the client went away, the instance broke off); `bytes` null when not known. */
  sent(status: number, bytes: number | null, complete = true): void {
    if (this.#written) return;
    this.#written = true;
    const f = this.#facts;
    // Written out by hand: JSON.stringify of the whole object showed in profiles. Only the
    // client-given texts (request id, path) can need escaping; the rest are checked names,
    // addresses and numbers.
    const line =
      `{"time":"${isoNow()}","requestId":${JSON.stringify(f.requestId)},"client":${f.client === undefined ? 'null' : `"${f.client}"`},` +
      `"method":${JSON.stringify(f.method)},"path":${JSON.stringify(f.path)},"service":${f.service === undefined ? 'null' : `"${f.service}"`},` +
      `"instance":${f.instance === undefined ? 'null' : JSON.stringify(f.instance)},"status":${status},"bytes":${bytes},` +
      `"durationMs":${Math.round((performance.now() - this.#startedAt) * 1000) / 1000},"attempts":${f.attempts}${complete ? '' : ',"incomplete":true'}}`;
    try {
      this.#sink(line);
    } catch {
      // A full disk or a closed stream must not fail the request it describes.
    }
  }
}

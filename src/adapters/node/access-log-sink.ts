import { closeSync, createWriteStream, openSync } from 'node:fs';
import type { AccessLogSink, GatewayConfig } from '../../gateway/index.js';

/** Lines are written in batches of this many characters at most, or after FLUSH_MS: a write per line cost a third of a request's CPU. */
const BATCH_CHARS = 64 * 1024;
const FLUSH_MS = 200;
/** Lines waiting for a slow disk beyond this are dropped (and said so once) rather than held in memory without end. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/** An access log destination on Node, and how to let go of it. */
export interface NodeAccessLog {
  sink: AccessLogSink | undefined;
  /** Writes what is pending and closes the file. */
  close(): Promise<void>;
}

/**
 * `ETCD_EDGE_ACCESS_LOG` on Node: nothing, stdout, or lines appended to a
 * file. Lines are batched (as nginx's `buffer=`/`flush=`), so a request never
 * waits on the disk and a busy gateway makes a few writes a second, not one
 * per request; a crash can lose the last FLUSH_MS of lines.
 *
 * @throws {Error} at start-up when the file cannot be opened for appending
 */
export function nodeAccessLog(setting: GatewayConfig['accessLog'], onError: (error: unknown) => void = () => undefined): NodeAccessLog {
  if (setting === 'off') return { sink: undefined, close: async () => undefined };
  if (setting === 'stdout') {
    const batch = new LineBatch((text) => void process.stdout.write(text));
    return { sink: (line) => batch.add(line), close: async () => batch.flush() };
  }
  // Opened once now, so a missing directory or a read-only file is told at start-up, not lost with the first line.
  try {
    closeSync(openSync(setting.path, 'a'));
  } catch (error) {
    throw new Error(`ETCD_EDGE_ACCESS_LOG: cannot append to ${setting.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const file = createWriteStream(setting.path, { flags: 'a' });
  let failed = false;
  let closed = false;
  let dropping = false;
  file.on('error', (error) => {
    if (!failed) onError(error);
    failed = true;
  });
  const batch = new LineBatch((text) => {
    if (failed || closed) return;
    if (file.writableLength > MAX_PENDING_BYTES) {
      if (!dropping) onError(new Error(`ETCD_EDGE_ACCESS_LOG: ${setting.path} is not keeping up; lines are dropped until it does`));
      dropping = true;
      return;
    }
    dropping = false;
    file.write(text);
  });
  return {
    sink: (line) => void (closed || batch.add(line)),
    close: () => {
      batch.flush();
      closed = true;
      return new Promise((resolve) => file.end(resolve));
    },
  };
}

/** Lines gathered and written together. */
class LineBatch {
  readonly #write: (text: string) => void;
  #lines: string[] = [];
  #chars = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  add(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length + 1;
    if (this.#chars >= BATCH_CHARS) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0) return;
    const text = `${this.#lines.join('\n')}\n`;
    this.#lines = [];
    this.#chars = 0;
    this.#write(text);
  }
}

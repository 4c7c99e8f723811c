import { closeSync, createWriteStream, openSync } from 'node:fs';
import type { AccessLogSink, GatewayConfig } from '../../gateway/index.js';

/** An access log destination on Node, and how to let go of it. */
export interface NodeAccessLog {
  sink: AccessLogSink | undefined;
  close(): Promise<void>;
}

/**
 * `ETCD_EDGE_ACCESS_LOG` on Node: nothing, stdout, or lines appended to a
 * file (buffered by the stream, so a request never waits on the disk).
 *
 * @throws {Error} at start-up when the file cannot be opened for appending
 */
export function nodeAccessLog(setting: GatewayConfig['accessLog'], onError: (error: unknown) => void = () => undefined): NodeAccessLog {
  if (setting === 'off') return { sink: undefined, close: async () => undefined };
  if (setting === 'stdout') return { sink: (line) => void process.stdout.write(`${line}\n`), close: async () => undefined };
  // Opened once now, so a missing directory or a read-only file is told at start-up, not lost with the first line.
  try {
    closeSync(openSync(setting.path, 'a'));
  } catch (error) {
    throw new Error(`ETCD_EDGE_ACCESS_LOG: cannot append to ${setting.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const file = createWriteStream(setting.path, { flags: 'a' });
  let failed = false;
  file.on('error', (error) => {
    if (!failed) onError(error);
    failed = true;
  });
  return {
    sink: (line) => void (failed || file.write(`${line}\n`)),
    close: () => new Promise((resolve) => file.end(resolve)),
  };
}

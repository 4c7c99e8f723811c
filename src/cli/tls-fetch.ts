import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { FetchLike } from '../etcd/index.js';
import { UsageError } from './errors.js';

/** The files of `--cacert`, `--cert` and `--key`. */
export interface TlsFiles {
  cacert?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** How long a connection's TLS alert is kept after it closed, for the failed fetch to pick up. */
const ALERT_KEPT_MS = 1_000;

/**
 * `fetch` with the CA, client certificate and key of `--cacert`, `--cert`
 * and `--key`, read once, here. A server that refuses the client certificate
 * sends a TLS alert once the handshake is done, which undici reports only as
 * "other side closed"; the alert is kept per connection and made the cause of
 * the failed fetch, so the error can say what happened.
 */
export function tlsFetch(files: TlsFiles): FetchLike {
  const connector = buildConnector({
    ...(files.cacert ? { ca: readFlagFile(files.cacert, '--cacert') } : {}),
    ...(files.cert && files.key ? { cert: readFlagFile(files.cert, '--cert'), key: readFlagFile(files.key, '--key') } : {}),
  });
  const alerts = new Map<number, Error>();
  const dispatcher = new Agent({
    connect: (options, callback) =>
      connector(options, (...result) => {
        if (result[1]) keepAlerts(result[1], alerts);
        callback(...result);
      }),
  });
  return async (url, init) => {
    try {
      return (await undiciFetch(url, { ...init, dispatcher } as Parameters<typeof undiciFetch>[1])) as unknown as Response;
    } catch (error) {
      throw withAlert(error, alerts);
    }
  };
}

/** A file named by a flag (PEM); a usage error naming the flag when it cannot be read. */
export function readFlagFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function keepAlerts(socket: Socket, alerts: Map<number, Error>): void {
  const port = socket.localPort;
  if (port === undefined) return;
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code?.startsWith('ERR_SSL_')) alerts.set(port, error);
  });
  socket.once('close', () => setTimeout(() => alerts.delete(port), ALERT_KEPT_MS).unref());
}

/** The fetch error with the TLS alert of its connection as cause, when there was one. */
function withAlert(error: unknown, alerts: Map<number, Error>): unknown {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const port = (e as { socket?: { localPort?: unknown } }).socket?.localPort;
    const alert = typeof port === 'number' ? alerts.get(port) : undefined;
    if (alert) return new Error((error as Error).message, { cause: alert });
  }
  return error;
}

/** Addresses that mean "every interface of this machine". */
const ALL_INTERFACES = new Set(['0.0.0.0', '[::]']);

/**
 * The serve banner: where it really listens, and a URL that reaches it from
 * this machine when that is every interface (a browser will not open
 * `http://0.0.0.0/`). Scripts read the first URL: `listening on (https?://\S+)`.
 *
 * @example
 * listeningLine('http://[::]:8787') // 'etcd-edge gateway listening on http://[::]:8787 (all interfaces; on this machine http://127.0.0.1:8787)'
 */
export function listeningLine(url: string): string {
  const [, scheme, host, port] = /^(https?):\/\/(.+):(\d+)$/.exec(url) ?? [];
  const local = host !== undefined && ALL_INTERFACES.has(host) ? ` (all interfaces; on this machine ${scheme}://127.0.0.1:${port})` : '';
  return `etcd-edge gateway listening on ${url}${local}`;
}

interface ListenFailure {
  code?: unknown;
  port?: unknown;
  address?: unknown;
}

/**
 * Node's `listen EADDRINUSE: address already in use :::8787` as one line that
 * names the port and how to pick another; other errors pass through.
 */
export function listenFailure(error: unknown, gatewayPort: number): unknown {
  const { code, port, address } = (error ?? {}) as ListenFailure;
  if (typeof port !== 'number') return error;
  const where = typeof address === 'string' && !['::', '0.0.0.0'].includes(address) ? ` on ${address}` : '';
  const change = port === gatewayPort ? 'choose another with --port N or PORT=N' : 'choose another port';
  switch (code) {
    case 'EADDRINUSE':
      return new Error(`port ${port} is already in use${where}: stop what listens there, or ${change}`, { cause: error });
    case 'EACCES':
      return new Error(`no permission to listen on port ${port}${where} (ports below 1024 need privileges): ${change}`, { cause: error });
    case 'EADDRNOTAVAIL':
      return new Error(`cannot listen on ${String(address)}: not an address of this machine; check ${port === gatewayPort ? '--host' : '--admin-host'}`, { cause: error });
    default:
      return error;
  }
}

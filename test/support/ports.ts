import { createServer } from 'node:net';

/**
 * Ports this process has handed out. The kernel gives a port just released
 * again about once in 7,000 binds (Linux looks for a port with SO_REUSEADDR,
 * which Node sets, in the lower half of the ephemeral range first), and an
 * etcd started on the same port twice, client and peer, exits at once.
 */
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that was free a moment ago, and not handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let tries = 1; ; tries++) {
    const port = await boundAndReleased();
    if (!handedOut.has(port) || tries === 20) {
      handedOut.add(port);
      return port;
    }
  }
}

function boundAndReleased(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// Clients that hang up: each request for a 1 MiB body is abandoned at a
// different point (right after sending, at the response headers, after the
// first chunk, or a few ms into the body), the way real clients time out or
// navigate away. The gateway must neither crash nor keep the sockets.
import http from 'node:http';
import { socketCount } from './procfs.mjs';
import { sleep } from './processes.mjs';

/** One request, abandoned at the point `mode` names; resolves when it is over. */
function abandon(url, mode) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false });
    const done = () => {
      req.destroy();
      resolve();
    };
    req.on('error', () => resolve());
    req.on('close', resolve);
    if (mode === 0) setImmediate(done);
    req.on('response', (res) => {
      if (mode === 1) return done();
      res.once('data', () => (mode === 2 ? done() : setTimeout(done, 1 + Math.random() * 4)));
    });
  });
}

/** `connections` loops of abandoned requests for `seconds`. */
async function dropLoad(url, connections, seconds) {
  const end = performance.now() + seconds * 1000;
  let requests = 0;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < end) await abandon(url, requests++ % 4);
  }));
  return requests;
}

/**
 * Sockets of the tree once idle keep-alive connections had time to close: the
 * lowest count seen over `ms`, or earlier once it is down to `enough`.
 */
export async function settledSockets(pid, ms, enough = 0) {
  let lowest = Infinity;
  for (const end = Date.now() + ms; Date.now() < end && lowest > enough; await sleep(250)) lowest = Math.min(lowest, socketCount(pid));
  return lowest;
}

/**
 * Runs the dropping clients against a gateway and reports its sockets before
 * and after (after the same settling time) and whether it still answers.
 */
export async function dropConnections({ origin, path, largePath, pid, seconds, connections = 32 }) {
  const before = await settledSockets(pid, 5_000);
  const requests = await dropLoad(`${origin}${largePath}`, connections, seconds);
  // Long enough for undici's and workerd's idle upstream connections to time out.
  const after = await settledSockets(pid, 15_000, before);
  const res = await fetch(`${origin}${path}`).catch(() => undefined);
  await res?.arrayBuffer();
  return { requests, before, after, answersAfter: res?.status === 200 };
}

#!/usr/bin/env node
import { main, watchParent } from '../dist/cli/main.js';

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => stop.abort());
// Under npm (`npx etcd-edge …`, an npm script) a signal sent to npm reaches the
// shell npm runs us in, never us: stop, and deregister, once npm is gone.
if (process.env.npm_lifecycle_event !== undefined) watchParent(() => stop.abort());
// A closed terminal or pipe (EPIPE) must not cut a deregistration short.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

// Exit at once: a deregistration that timed out may still have a request in flight.
process.exit(await main(process.argv.slice(2), { signal: stop.signal }));

#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => stop.abort());

// Exit at once: a deregistration that timed out may still have a request in flight.
process.exit(await main(process.argv.slice(2), { signal: stop.signal }));

#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => stop.abort());

process.exitCode = await main(process.argv.slice(2), { signal: stop.signal });

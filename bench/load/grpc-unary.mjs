// Unary calls of edge.test.Echo with CONCURRENCY calls in flight on one
// channel (one HTTP/2 connection, as a gRPC client holds one per target):
// WARMUP_S unmeasured, then SECONDS measured. Run by bench/lib/load.mjs.
//   TARGET=host:port CONCURRENCY=16 SECONDS=5 WARMUP_S=1 node bench/load/grpc-unary.mjs
import * as grpc from '@grpc/grpc-js';
import { echoClient } from '../lib/grpc-echo.mjs';
import { latencyMs } from '../lib/load.mjs';

const { TARGET, CONCURRENCY = '16', SECONDS = '5', WARMUP_S = '1' } = process.env;
const Echo = echoClient();
const client = new Echo(TARGET, grpc.credentials.createInsecure());
const request = { text: 'x'.repeat(64) };
const call = () => new Promise((resolve) => client.Unary(request, (error) => resolve(!error)));

let measuring = false;
let stopped = false;
let count = 0;
let errors = 0;
const latencies = [];

async function loop() {
  while (!stopped) {
    const start = performance.now();
    const ok = await call();
    if (!measuring || stopped) continue;
    if (ok) {
      count++;
      latencies.push(performance.now() - start);
    } else errors++;
  }
}

const loops = Array.from({ length: Number(CONCURRENCY) }, loop);
await new Promise((resolve) => setTimeout(resolve, Number(WARMUP_S) * 1000));
measuring = true;
const started = performance.now();
console.log('MEASURING');
await new Promise((resolve) => setTimeout(resolve, Number(SECONDS) * 1000));
stopped = true;
const seconds = (performance.now() - started) / 1000;
await Promise.all(loops);
console.log(`LOAD_JSON ${JSON.stringify({ count, errors, seconds, latencyMs: latencyMs(latencies) })}`);
client.close();
process.exit(0);

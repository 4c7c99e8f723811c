// CONNECTIONS WebSockets to URL, each sending a BYTES-byte binary message and
// the next one as soon as its echo arrives (ping-pong): WARMUP_S unmeasured,
// then SECONDS measured. `count` is echoes received. Run by bench/lib/load.mjs.
//   URL=ws://… CONNECTIONS=64 BYTES=64 SECONDS=5 WARMUP_S=1 node bench/load/ws-pingpong.mjs
import WebSocket from 'ws';
import { latencyMs } from '../lib/load.mjs';

const { URL: url, CONNECTIONS = '64', BYTES = '64', SECONDS = '5', WARMUP_S = '1' } = process.env;
const message = Buffer.alloc(Number(BYTES), 120);

let measuring = false;
let stopped = false;
let count = 0;
let errors = 0;
const latencies = [];

/** Opens one connection and starts its ping-pong, which runs until stopped. */
async function pingPong() {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let sent = 0;
  const send = () => {
    sent = performance.now();
    socket.send(message);
  };
  socket.on('message', () => {
    if (measuring && !stopped) {
      count++;
      latencies.push(performance.now() - sent);
    }
    if (!stopped) send();
  });
  socket.on('error', () => errors++);
  send();
}

await Promise.all(Array.from({ length: Number(CONNECTIONS) }, pingPong));
await new Promise((resolve) => setTimeout(resolve, Number(WARMUP_S) * 1000));
measuring = true;
const started = performance.now();
console.log('MEASURING');
await new Promise((resolve) => setTimeout(resolve, Number(SECONDS) * 1000));
stopped = true;
const seconds = (performance.now() - started) / 1000;
console.log(`LOAD_JSON ${JSON.stringify({ count, errors, seconds, latencyMs: latencyMs(latencies) })}`);
process.exit(0);

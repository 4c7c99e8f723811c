// fastify + @fastify/http-proxy forwarding everything to UPSTREAM, with the
// plugin's defaults (its own undici pool): the setup its documentation shows.
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

const port = Number(process.env.PORT);
// Exit on SIGTERM so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));
const app = Fastify({ logger: false });
await app.register(proxy, { upstream: process.env.UPSTREAM });
await app.listen({ port, host: '127.0.0.1' });
console.log(`listening on http://127.0.0.1:${port}`);

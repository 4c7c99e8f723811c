// A Worker of one's own with the gateway behind Hono's cors and jwt
// middleware: only callers with a valid token (HS256, signed with JWT_SECRET)
// reach /svc/*; everything else of the app stays the app's own.
//   wrangler dev examples/worker-cors-jwt/index.ts   (with ETCD_ENDPOINTS, JWT_SECRET, CORS_ORIGIN in vars)
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { jwt } from 'hono/jwt';
import { workerEdge } from 'etcd-edge/worker';

export { SnapshotHub } from 'etcd-edge/worker';

type Bindings = { JWT_SECRET: string; CORS_ORIGIN: string };

const edge = workerEdge();
const app = new Hono<{ Bindings: Bindings }>();

app.use('/svc/*', (c, next) => cors({ origin: c.env.CORS_ORIGIN, allowHeaders: ['authorization', 'content-type'] })(c, next));
app.use('/svc/*', (c, next) => jwt({ secret: c.env.JWT_SECRET, alg: 'HS256' })(c, next));
app.use('/svc/*', edge.middleware);
app.get('/', (c) => c.text('an app of its own, with the gateway under /svc/'));

export default app;

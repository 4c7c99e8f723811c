// `npm start` checks the gateway's port before it starts anything (etcd takes
// seconds), and says how to choose another in the words of the command used.
import { createServer } from 'node:net';
import { parseCommandLine } from '../dist/cli/args.js';
import { listenFailure } from '../dist/cli/listening.js';

/** The port and host `etcd-edge serve` will listen on; undefined when serve will refuse the arguments itself. */
function listenTarget(serveArgs, env) {
  try {
    const { flags } = parseCommandLine(['serve', ...serveArgs]);
    const text = flags.port ?? env.PORT ?? '8787';
    const port = Number(text);
    return /^\d+$/.test(text) && port > 0 && port <= 65535 ? { port, host: flags.host, fromFlag: flags.port !== undefined } : undefined;
  } catch {
    return undefined;
  }
}

/** `PORT=8788 npm start (or npm start -- --port 8788)`, as the user started it. */
function howToChange({ port, fromFlag }) {
  const other = port < 65535 ? port + 1 : 8788;
  const script = { start: 'npm start', demo: 'npm run demo' }[process.env.npm_lifecycle_event];
  if (!script) return `add --port ${other}`;
  return fromFlag ? `${script} -- --port ${other}` : `PORT=${other} ${script} (or ${script} -- --port ${other})`;
}

/** Throws a one-line error when the gateway could not listen where `serveArgs` and `env` say. */
export async function checkPort(serveArgs, env) {
  const target = listenTarget(serveArgs, env);
  if (!target) return;
  const error = await new Promise((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen(target.port, target.host, () => server.close(() => resolve(undefined)));
  });
  if (error === undefined) return;
  if (error.code !== 'EADDRINUSE') throw listenFailure(error, target.port);
  const where = target.host ? ` on ${target.host}` : '';
  throw new Error(`port ${target.port} is already in use${where}: stop what listens there, or choose another: ${howToChange(target)}`);
}

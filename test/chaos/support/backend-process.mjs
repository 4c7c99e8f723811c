// An HTTP backend in its own process, so a test can SIGKILL it for real.
// Prints `listening <port>` once, then `seen <x-request-id>` for every request
// as it arrives, before anything is answered: stdout is a pipe, written
// synchronously on Linux, so the parent learns of every request the process
// took, even the ones a kill cuts off.
// Routes: `/slow/{ms}/…` waits, then echoes; anything else echoes method, URL
// and body size as JSON.
import { createServer } from 'node:http';

const name = process.argv[2] ?? 'backend';

const server = createServer(async (req, res) => {
  const id = req.headers['x-request-id'];
  if (typeof id === 'string') process.stdout.write(`seen ${id}\n`);
  let bodyBytes = 0;
  for await (const chunk of req) bodyBytes += chunk.length;
  const slow = /^\/slow\/(\d+)/.exec(req.url ?? '');
  if (slow) await new Promise((r) => setTimeout(r, Number(slow[1])));
  res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
  res.end(JSON.stringify({ backend: name, method: req.method, url: req.url, bodyBytes }));
});

server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));

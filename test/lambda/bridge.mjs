// Plays API Gateway (HTTP API, payload format 2.0) in front of the built Lambda
// handler: each HTTP request becomes a v2 event for `handler(event, context)`, and
// its result becomes the HTTP response. Run with `node test/lambda/bridge.mjs`
// and the gateway's environment; prints `listening on http://127.0.0.1:PORT`.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const { handler } = await import(new URL('../../dist/adapters/lambda/index.js', import.meta.url).href);

/** API Gateway sets these itself on the way out. */
const NOT_PASSED_BACK = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** The v2 event for a request, as API Gateway's HTTP API builds it. */
function toEvent(req, body) {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const rawQueryString = q === -1 ? '' : target.slice(q + 1);
  const headers = {};
  const cookies = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    if (name === 'cookie') {
      for (const cookie of value.split(';')) if (cookie.trim()) cookies.push(cookie.trim());
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  const host = headers.host ?? '127.0.0.1';
  const now = Date.now();
  const requestId = randomUUID();
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'bridge',
      domainName: host,
      domainPrefix: host.split('.')[0],
      http: {
        method: req.method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (body.length > 0) {
    event.body = body.toString('base64');
    event.isBase64Encoded = true;
  }
  return { event, requestId };
}

function lambdaContext(requestId) {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'etcd-edge-bridge',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:etcd-edge-bridge',
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/etcd-edge-bridge',
    logStreamName: 'bridge',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
}

const server = createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const { event, requestId } = toEvent(req, Buffer.concat(chunks));
    const result = await handler(event, lambdaContext(requestId));
    const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
    const headers = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) {
      if (!NOT_PASSED_BACK.has(name.toLowerCase())) headers[name] = value;
    }
    for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
      if (!NOT_PASSED_BACK.has(name.toLowerCase())) headers[name] = values;
    }
    if (Array.isArray(result.cookies) && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
    headers['content-length'] = String(body.length);
    res.writeHead(result.statusCode ?? 200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (error) {
    // What API Gateway answers when the function fails.
    console.error('bridge: handler failed', error);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"message":"Internal Server Error"}');
  }
});

server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});

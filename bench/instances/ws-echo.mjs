// The WebSocket instance of bench/websocket.mjs: `ws` echoing every message
// as it came (text or binary); a plain GET answers 200, so that the gateway's
// readiness check can go through it.
//   PORT=… node bench/instances/ws-echo.mjs
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ws echo'));
new WebSocketServer({ server }).on('connection', (socket) => {
  socket.on('message', (data, binary) => socket.send(data, { binary }));
});
server.listen(Number(process.env.PORT), '127.0.0.1');

// nginx as the backend every contender forwards to, and as one of the
// contenders (a keep-alive reverse proxy). Each runs from a temporary prefix
// with its own config, pid file and temp paths, in the foreground.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accepts, freePort, spawnChild, waitFor } from './processes.mjs';

export const SMALL_BODY_BYTES = 1024;
export const LARGE_BODY_BYTES = 1024 * 1024;

/** What every config shares: `workers` worker processes (one unless asked), no access log, every path inside `dir`. */
function head(dir, workers = 1) {
  return `worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # Connections stay open for the whole run: nginx's default closes one every 1,000 requests.
  keepalive_requests 100000000;
  keepalive_timeout 300s;
`;
}

async function start(config, dir, what, cpus, port, ready = async () => (await fetch(`http://127.0.0.1:${port}/`)).ok) {
  writeFileSync(join(dir, 'nginx.conf'), config);
  const child = spawnChild('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { cpus });
  await waitFor(ready, what, { child });
  return { pid: child.pid, child, async stop() { await child.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-edge-bench-nginx-'));
  // nginx's worker runs as nobody when started by root: it must read the large body.
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * The backend: `GET /large` answers 1 MiB (for clients that drop connections
 * mid-response), any other path a fixed 1 KiB body. Listens on `ports`.
 */
export async function startBackend(ports, { cpus } = {}) {
  const dir = tempDir();
  mkdirSync(join(dir, 'www'), { mode: 0o755 });
  writeFileSync(join(dir, 'www/large'), Buffer.alloc(LARGE_BODY_BYTES, 120), { mode: 0o644 });
  const config = `${head(dir)}
  default_type text/plain;
  server {
    ${ports.map((p) => `listen 127.0.0.1:${p};`).join('\n    ')}
    root ${dir}/www;
    location = /large { }
    location / { return 200 "${'x'.repeat(SMALL_BODY_BYTES)}"; }
  }
}
`;
  const backend = await start(config, dir, 'nginx backend', cpus, ports[0]);
  return { ...backend, urls: ports.map((p) => `http://127.0.0.1:${p}`) };
}

/**
 * nginx as a reverse proxy to `upstream` (an origin), keeping up to 64 idle
 * upstream connections per worker; `workers` worker processes (default 1).
 */
export async function startNginxProxy(upstream, { cpus, workers = 1 } = {}) {
  const dir = tempDir();
  const port = await freePort();
  const config = `${head(dir, workers)}
  upstream backend {
    server ${new URL(upstream).host};
    keepalive 64;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const proxy = await start(config, dir, 'nginx proxy', cpus, port);
  return { ...proxy, url: `http://127.0.0.1:${port}` };
}

/**
 * nginx as a gRPC proxy (`grpc_pass`) to `upstream` (`host:port`, h2c):
 * clients speak h2c with prior knowledge to it. nginx sends one call at a
 * time per upstream connection, kept alive (up to 64 idle).
 */
export async function startNginxGrpcProxy(upstream, { cpus } = {}) {
  const dir = tempDir();
  const port = await freePort();
  const config = `${head(dir)}
  upstream grpc_backend {
    server ${upstream};
    keepalive 64;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:${port} http2;
    location / { grpc_pass grpc://grpc_backend; }
  }
}
`;
  const proxy = await start(config, dir, 'nginx gRPC proxy', cpus, port, () => accepts(port));
  return { ...proxy, url: `http://127.0.0.1:${port}` };
}

/** nginx as a WebSocket reverse proxy to `upstream` (an origin): Upgrade passed on, no read timeout within a run. */
export async function startNginxWebSocketProxy(upstream, { cpus } = {}) {
  const dir = tempDir();
  const port = await freePort();
  const config = `${head(dir)}
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${upstream};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 300s;
    }
  }
}
`;
  const proxy = await start(config, dir, 'nginx WebSocket proxy', cpus, port);
  return { ...proxy, url: `http://127.0.0.1:${port}` };
}

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EtcdClient, EtcdError, EtcdUnavailableError } from '../src/index.js';
import { CliProcess, cli } from './support/cli-process.js';
import { enableAuth } from './support/etcd-auth.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';

const USER = { username: 'edge', password: 'redirect-test-secret' };

interface Seen {
  method: string | undefined;
  path: string | undefined;
  authorization: string | undefined;
  body: string;
}

/** A loopback HTTP server that records every request and answers with `answer`. */
class Recorder {
  readonly seen: Seen[] = [];
  readonly server: Server;
  constructor(answer: (req: IncomingMessage) => { status: number; headers?: Record<string, string> }) {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        this.seen.push({ method: req.method, path: req.url, authorization: req.headers.authorization, body });
        const { status, headers } = answer(req);
        res.writeHead(status, headers).end('moved');
      });
    });
  }
  listen(): Promise<string> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}`)));
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let etcd: EtcdCluster;
let target: Recorder;
let redirector: Recorder;
let redirecting: string;

beforeAll(async () => {
  etcd = await startEtcd();
  await enableAuth(etcd.endpoints[0]!, USER);
  target = new Recorder(() => ({ status: 200 }));
  const targetUrl = await target.listen();
  // Where an attacker who controls an endpoint's address would want the login. (No userinfo here:
  // undici refuses to follow a Location with userinfo, which would hide a client that follows.)
  const location = `${targetUrl}/v3/auth/authenticate?ticket=loc-secret`;
  redirector = new Recorder(() => ({ status: 307, headers: { location } }));
  redirecting = await redirector.listen();
});

afterEach(() => {
  vi.restoreAllMocks();
  redirector.seen.length = 0;
  target.seen.length = 0;
});

afterAll(async () => {
  await Promise.all([redirector?.close(), target?.close(), etcd?.close()]);
});

function chain(error: unknown): string {
  const out: string[] = [];
  for (let e = error; e instanceof Error && out.length < 30; e = e.cause) out.push(e.name, e.message, e.stack ?? '');
  return out.join('\n');
}

describe('an etcd endpoint that answers 307 (real HTTP on loopback)', () => {
  it('receives the login exactly once; nothing reaches the redirect target; the error names no credential', async () => {
    const client = new EtcdClient({ endpoints: [redirecting], ...USER });
    const error = await client.range('k').catch((e: unknown) => e);
    expect(redirector.seen.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /v3/auth/authenticate']);
    expect(target.seen).toEqual([]);
    expect(error).toBeInstanceOf(EtcdUnavailableError);
    const cause = (error as EtcdUnavailableError).cause as EtcdError;
    expect(cause.code).toBe('ETCD_REDIRECT');
    expect(cause.message).toContain(`etcd endpoint ${redirecting} answered with a redirect (HTTP 307) to http://127.0.0.1:`);
    expect(chain(error)).not.toMatch(/redirect-test-secret|loc-secret|\/v3\/auth/);
  });

  it('is set aside while the other endpoints serve: logins, writes and reads go to etcd, none to the target', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const client = new EtcdClient({ endpoints: [redirecting, etcd.endpoints[0]!], ...USER });
    await client.put('redirect/k', 'v');
    expect((await client.range('redirect/k')).kvs).toHaveLength(1);
    expect(redirector.seen.map((s) => s.path)).toEqual(['/v3/auth/authenticate']);
    expect(target.seen).toEqual([]);
  });

  it('a call carrying a token is not followed either', async () => {
    // The login is routed to etcd, so the range reaches the redirector with a real token.
    const loginAtEtcd: typeof fetch = (url, init) =>
      fetch(String(url).endsWith('/v3/auth/authenticate') ? `${etcd.endpoints[0]!}/v3/auth/authenticate` : url, init);
    const client = new EtcdClient({ endpoints: [redirecting], ...USER, fetch: loginAtEtcd });
    expect(((await client.range('k').catch((e: unknown) => e)) as EtcdUnavailableError).cause).toMatchObject({ code: 'ETCD_REDIRECT' });
    expect(redirector.seen.map((s) => s.path)).toEqual(['/v3/kv/range']);
    expect(redirector.seen[0]!.authorization).toMatch(/.{8,}/);
    expect(target.seen).toEqual([]);
  });

  it('the CLI says in one line why, for a redirect and for a port fetch refuses', async () => {
    // Run asynchronously: the redirector answers from this process.
    const ls = new CliProcess(['ls'], { ETCD_ENDPOINTS: redirecting });
    expect(await ls.exited).toMatchObject({ code: 1 });
    expect(ls.stderr).toBe(
      `etcd-edge: cannot reach etcd at ${redirecting} (an endpoint answered HTTP 307, a redirect, which the etcd client never follows; give etcd's own URL)\n`,
    );
    expect(redirector.seen).toHaveLength(1);
    expect(cli(['ls'], { ETCD_ENDPOINTS: 'http://127.0.0.1:6000' })).toMatchObject({
      code: 1,
      stderr: 'etcd-edge: cannot reach etcd at http://127.0.0.1:6000 (fetch refuses to connect to port 6000, a "bad port" in the Fetch standard; use another port)\n',
    });
  });
});

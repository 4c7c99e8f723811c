/** Test helpers for the gateway: a recording fake upstream and a gateway over an in-memory fake etcd. */
import { EtcdClient, type FetchLike } from '../../etcd/index.js';
import { fieldsOf, headersOf, loadConfig, UpstreamError, type Upstream, type UpstreamFailure, type UpstreamReply, type UpstreamRequest, type UpstreamResponse } from '../../gateway/index.js';
import { createGateway, type Gateway, type RuntimeHooks } from '../../http/index.js';
import { nativeLayout, type Registration } from '../../registry/index.js';
import { FakeEtcd } from '../index.js';

/** What the fake upstream saw of one attempt. */
export interface Sent {
  origin: string;
  path: string;
  method: string;
  headers: Headers;
  /** The body's text (read fully), or null for none. */
  body: string | null;
  /** The body's bytes (read fully), or null for none. */
  bytes: Uint8Array | null;
  /** Whether the body came as a stream (not replayable bytes). */
  streamed: boolean;
}

/** One scripted answer: a response, a failure before a response, or waiting until aborted. */
export type Step =
  | { status: number; headers?: Record<string, string>; body?: string | Uint8Array | null }
  | { error: UpstreamFailure }
  | 'hang';

export type Script = (request: Sent, index: number) => Step;

/** An `Upstream` that records every attempt and answers from a script (default: 200 naming the origin). */
export class FakeUpstream implements Upstream {
  readonly sent: Sent[] = [];
  script: Script;

  constructor(script: Script = (r) => ({ status: 200, body: `from ${r.origin}` })) {
    this.script = script;
  }

  send(request: UpstreamRequest, reply: UpstreamReply): void {
    this.#answer(request).then(
      (response) => {
        reply.headersArrived();
        reply.answered(response);
      },
      (error: UpstreamError) => reply.failed(error),
    );
  }

  async #answer(request: UpstreamRequest): Promise<UpstreamResponse> {
    const streamed = request.body instanceof ReadableStream;
    const sent: Sent = { origin: request.origin, path: request.path, method: request.method, headers: headersOf(request.headers), body: null, bytes: null, streamed };
    const index = this.sent.length;
    this.sent.push(sent);
    const step = this.script(sent, index);
    // A connect failure sends nothing, so it reads nothing of the body.
    if (!(typeof step === 'object' && 'error' in step && step.error === 'connect')) {
      sent.bytes = await readUnlessCancelled(request);
      sent.body = sent.bytes === null ? null : new TextDecoder().decode(sent.bytes);
    }
    if (step === 'hang') {
      return new Promise((_, reject) => request.cancel.onCancel({ cancel: () => reject(new UpstreamError('failed', 'aborted')) }));
    }
    if ('error' in step) throw new UpstreamError(step.error, `scripted ${step.error}`);
    const body = step.body === undefined || step.body === null ? null : typeof step.body === 'string' ? new TextEncoder().encode(step.body) : step.body;
    return { status: step.status, headers: fieldsOf(new Headers(step.headers ?? {})), body: body === null ? null : streamOf(body) };
  }

  /** Origins in the order they were sent to. */
  get origins(): string[] {
    return this.sent.map((s) => s.origin);
  }
}

/** The body as an instance reads it; a cancelled attempt (the gateway's timeout) stops reading, as a real connection would. */
function readUnlessCancelled(request: UpstreamRequest): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    request.cancel.onCancel({ cancel: () => reject(new UpstreamError('failed', 'aborted')) });
    readBody(request.body).then(resolve, reject);
  });
}

async function readBody(body: UpstreamRequest['body']): Promise<Uint8Array | null> {
  if (body === null) return null;
  if (body instanceof Uint8Array) return body.slice();
  return new Uint8Array(await new Response(body).arrayBuffer());
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

export const CLIENT_IP = '203.0.113.9';

export interface SetupOptions {
  env?: Record<string, string>;
  instances?: Registration[];
  script?: Script;
  hooks?: Partial<RuntimeHooks>;
  exposeMetrics?: boolean;
  /** Replaces the fake etcd's fetch (e.g. one that always fails). */
  etcdFetch?: FetchLike;
  now?: () => number;
}

export interface Harness {
  gateway: Gateway;
  upstream: FakeUpstream;
  etcd: FakeEtcd;
  /** Registers one more instance (native layout). */
  add(registration: Registration): Promise<void>;
  request(path: string, init?: RequestInit): Promise<Response>;
}

const open: Array<{ gateway: Gateway; etcd: FakeEtcd }> = [];

/** A gateway over a fresh fake etcd holding `instances`, with a recording fake upstream. Call `closeAll` after each test. */
export async function setup(options: SetupOptions = {}): Promise<Harness> {
  const etcd = new FakeEtcd();
  const client = new EtcdClient({ endpoints: etcd.endpoints, fetch: etcd.fetch });
  const layout = nativeLayout();
  const add = async (registration: Registration): Promise<void> => {
    const record = layout.encode(registration);
    await client.put(record.key, record.value);
  };
  for (const registration of options.instances ?? []) await add(registration);
  const upstream = new FakeUpstream(options.script);
  const config = loadConfig({ ETCD_ENDPOINTS: etcd.endpoints.join(','), ...options.env }, { watch: false, ipLiterals: 'allow' });
  const gateway = createGateway({
    config,
    upstream,
    hooks: { clientIp: () => CLIENT_IP, ...options.hooks },
    etcdFetch: options.etcdFetch ?? ((input, init) => etcd.fetch(input, init)),
    ...(options.exposeMetrics === undefined ? {} : { exposeMetrics: options.exposeMetrics }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  open.push({ gateway, etcd });
  return { gateway, upstream, etcd, add, request: async (path, init) => await gateway.app.request(path, init) };
}

export async function closeAll(): Promise<void> {
  for (const { gateway, etcd } of open.splice(0)) {
    await gateway.close();
    etcd.close();
  }
}

/** Reads an error response's JSON body. */
export async function errorOf(response: Response): Promise<{ code: string; message: string; service?: string }> {
  const body = (await response.json()) as { error: { code: string; message: string; service?: string } };
  return body.error;
}

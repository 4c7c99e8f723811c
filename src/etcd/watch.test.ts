import { describe, expect, it } from 'vitest';
import { FakeEtcd } from '../testing/index.js';
import { utf8 } from './bytes.js';
import { EtcdClient } from './client.js';
import { EtcdError } from './errors.js';
import type { FetchLike } from './transport.js';
import type { WatchBatch } from './types.js';

/** A client over the fake that records the start revision of every watch it opens. */
function setup() {
  const fake = new FakeEtcd();
  const starts: (number | undefined)[] = [];
  const fetch: FetchLike = async (url, init) => {
    if (url.endsWith('/v3/watch')) {
      const create = JSON.parse(String(init.body)).create_request as { start_revision?: string };
      starts.push(create.start_revision === undefined ? undefined : Number(create.start_revision));
    }
    return fake.fetch(url, init);
  };
  const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch });
  return { fake, etcd, starts };
}

/** Reads batches in the background until aborted. */
function reader(iterable: AsyncIterable<WatchBatch>) {
  const batches: WatchBatch[] = [];
  const done = (async () => {
    for await (const batch of iterable) batches.push(batch);
  })();
  const values = () => batches.flatMap((b) => b.events.map((e) => utf8(e.kv.value)));
  return { batches, done, values };
}

const until = async (check: () => boolean, ms = 3_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('watch', () => {
  it('a quiet stream resumes from its own position, not from the store revision', async () => {
    const { fake, etcd, starts } = setup();
    const controller = new AbortController();
    const watch = reader(etcd.watch({ prefix: 'quiet/' }, { signal: controller.signal, backoff: { initialMs: 5 } }));
    await until(() => starts.length === 1 && fake.watches.size === 1);
    const createdAt = fake.revision;
    for (let i = 0; i < 50; i++) await etcd.put(`busy/${i}`, 'x');
    fake.breakWatchStreams();
    await etcd.put('quiet/a', 'after-drop');
    await until(() => watch.values().length === 1);
    expect(watch.values()).toEqual(['after-drop']);
    // Each stream asks for one revision before the next one it needs (see watch-stream.ts).
    expect(starts).toEqual([undefined, createdAt]);
    controller.abort();
    await watch.done;
  });

  it('resumes inside a long history from the last event, not from the batch header revision', async () => {
    const fake = new FakeEtcd();
    const starts: number[] = [];
    // The first watch stream breaks right after its first history batch (1,000 revisions).
    const fetch: FetchLike = async (url, init) => {
      const response = await fake.fetch(url, init);
      if (!url.endsWith('/v3/watch')) return response;
      starts.push(Number(JSON.parse(String(init.body)).create_request.start_revision));
      return starts.length === 1 ? new Response(firstLines(response.body!, 2)) : response;
    };
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch });
    const start = (await etcd.put('h/k', '0')).header.revision;
    for (let i = 1; i <= 1_200; i++) await etcd.put(`h/k${i % 3}`, String(i));
    const controller = new AbortController();
    const watch = reader(etcd.watch({ prefix: 'h/' }, { startRevision: start, signal: controller.signal, backoff: { initialMs: 5 } }));
    // 1,201 events through the fake and a reconnect: 3 s is tight while the whole suite loads both cores.
    await until(() => watch.values().length >= 1_201, 15_000);
    expect(watch.values()).toEqual(Array.from({ length: 1_201 }, (_, i) => String(i)));
    expect(starts).toEqual([start - 1, start + 999]);
    controller.abort();
    await watch.done;
  });

  it('advances on a progress notification, which it yields when asked', async () => {
    const { fake, etcd, starts } = setup();
    const start = (await etcd.put('p/a', '1')).header.revision;
    const controller = new AbortController();
    const watch = reader(
      etcd.watch({ prefix: 'p/' }, { startRevision: start, progressNotify: true, signal: controller.signal, backoff: { initialMs: 5 } }),
    );
    await until(() => watch.values().length === 1);
    await etcd.put('other/x', 'y');
    fake.watches.notifyProgress();
    await until(() => watch.batches.some((b) => b.progress));
    expect(watch.batches.find((b) => b.progress)!.revision).toBe(fake.revision);
    fake.breakWatchStreams('truncate');
    await until(() => starts.length === 2);
    expect(starts).toEqual([start - 1, fake.revision]);
    controller.abort();
    await watch.done;
  });

  it('survives a truncated line and a stream error message, telling onRetry', async () => {
    const { fake, etcd } = setup();
    const retries: unknown[] = [];
    const controller = new AbortController();
    const start = (await etcd.put('t/a', '1')).header.revision;
    const watch = reader(
      etcd.watch({ prefix: 't/' }, { startRevision: start, signal: controller.signal, backoff: { initialMs: 5 }, onRetry: (e) => retries.push(e) }),
    );
    await until(() => watch.values().length === 1);
    fake.breakWatchStreams('truncate');
    await etcd.put('t/a', '2');
    await until(() => watch.values().length === 2);
    fake.breakWatchStreams('error');
    await etcd.put('t/a', '3');
    await until(() => watch.values().length === 3);
    expect(watch.values()).toEqual(['1', '2', '3']);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    controller.abort();
    await watch.done;
  });

  it('reconnects after a grpc-gateway stream error, and stops on a permanent cancel', async () => {
    let opened = 0;
    const lines = [
      '{"result":{"header":{"revision":"5"},"created":true}}\n{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}\n',
      '{"result":{"header":{"revision":"5"},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}}\n',
    ];
    const fetch: FetchLike = async () => new Response(lines[Math.min(opened++, 1)]);
    const etcd = new EtcdClient({ endpoints: ['http://etcd:2379'], fetch });
    const error = await (async () => {
      for await (const batch of etcd.watch('k', { backoff: { initialMs: 1 } })) void batch;
    })().catch((e: unknown) => e);
    expect(opened).toBe(2);
    expect((error as EtcdError).code).toBe('ETCD_PERMISSION_DENIED');
    expect((error as EtcdError).retryable).toBe(false);
  });

  it('refreshes the token and reconnects when etcd cancels a watch for an old auth revision', async () => {
    const fake = new FakeEtcd({ auth: { users: { edge: 'pw' } } });
    let canceled = false;
    const fetch: FetchLike = async (url, init) => {
      if (url.endsWith('/v3/watch') && !canceled) {
        canceled = true;
        const reason = 'rpc error: code = InvalidArgument desc = etcdserver: revision of auth store is old';
        return new Response(`{"result":{"header":{"revision":"1"},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"${reason}"}}\n`);
      }
      return fake.fetch(url, init);
    };
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch, username: 'edge', password: 'pw' });
    const controller = new AbortController();
    const watch = reader(etcd.watch('k', { signal: controller.signal, backoff: { initialMs: 1 } }));
    await until(() => fake.watches.size === 1);
    await etcd.put('k', 'after re-login');
    await until(() => watch.values().length === 1);
    expect(fake.auth!.logins).toBe(2);
    controller.abort();
    await watch.done;
  });

  it('reopens a stream that stays silent past idleTimeoutMs', async () => {
    const { fake, etcd, starts } = setup();
    const controller = new AbortController();
    const watch = reader(etcd.watch('idle', { signal: controller.signal, idleTimeoutMs: 60, backoff: { initialMs: 1 } }));
    await until(() => starts.length >= 3);
    await etcd.put('idle', 'still here');
    await until(() => watch.values().length === 1);
    expect(watch.values()).toEqual(['still here']);
    controller.abort();
    await watch.done;
    expect(fake.watches.size).toBe(0);
  });

  it('asks for a leader and reopens a failed stream on another member', async () => {
    const endpoints = ['http://etcd-0.fake:2379', 'http://etcd-1.fake:2379', 'http://etcd-2.fake:2379'];
    const fake = new FakeEtcd({ endpoints });
    const opened: { url: string; hasLeader: string | null }[] = [];
    const fetch: FetchLike = async (url, init) => {
      if (url.endsWith('/v3/watch')) opened.push({ url: new URL(url).origin, hasLeader: new Headers(init.headers).get('grpc-metadata-hasleader') });
      return fake.fetch(url, init);
    };
    const etcd = new EtcdClient({ endpoints, fetch });
    const controller = new AbortController();
    const watch = reader(etcd.watch('m', { signal: controller.signal, backoff: { initialMs: 1 } }));
    await until(() => fake.watches.size === 1);
    fake.breakWatchStreams();
    await until(() => opened.length === 2 && fake.watches.size === 1);
    expect(opened[1]!.url).not.toBe(opened[0]!.url);
    expect(opened.every((o) => o.hasLeader === 'true')).toBe(true);
    controller.abort();
    await watch.done;
  });

  it('treats a 503 "no leader" at open and a cleanly closed stream as member failures', async () => {
    const endpoints = ['http://etcd-0.fake:2379', 'http://etcd-1.fake:2379', 'http://etcd-2.fake:2379'];
    const fake = new FakeEtcd({ endpoints });
    const opened: string[] = [];
    // Recorded from etcd 3.4: a watch opened on a member without a leader.
    const noLeader = '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}';
    const fetch: FetchLike = async (url, init) => {
      if (url.endsWith('/v3/watch')) {
        opened.push(new URL(url).origin);
        if (opened.length === 1) return new Response(noLeader, { status: 503 });
      }
      return fake.fetch(url, init);
    };
    const etcd = new EtcdClient({ endpoints, fetch });
    const retries: unknown[] = [];
    const controller = new AbortController();
    const watch = reader(etcd.watch('c', { signal: controller.signal, backoff: { initialMs: 1 }, onRetry: (e) => retries.push(e) }));
    await until(() => fake.watches.size === 1);
    expect(opened).toHaveLength(2);
    expect(opened[1]).not.toBe(opened[0]);
    fake.watches.closeAll();
    await until(() => opened.length === 3 && fake.watches.size === 1);
    expect(new Set(opened).size).toBe(3);
    expect(retries).toHaveLength(1);
    expect((retries[0] as EtcdError).message).toContain('closed the watch stream');
    controller.abort();
    await watch.done;
  });

  it('reports a 503 "no leader" at open as etcd\'s own error, not a protocol error', async () => {
    const noLeader = '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}';
    const fetch: FetchLike = async () => new Response(noLeader, { status: 503 });
    const etcd = new EtcdClient({ endpoints: ['http://etcd:2379'], fetch });
    const retries: EtcdError[] = [];
    const controller = new AbortController();
    const watch = reader(etcd.watch('c', { signal: controller.signal, backoff: { initialMs: 1 }, onRetry: (e) => retries.push(e as EtcdError) }));
    await until(() => retries.length >= 1);
    controller.abort();
    await watch.done;
    const cause = retries[0]!.cause as EtcdError;
    expect(cause.code).toBe('ETCD_UNAVAILABLE');
    expect(cause.grpcCode).toBe(14);
    expect(cause.message).toContain('no leader');
  });

  it('releases the stream when the consumer stops iterating', async () => {
    const { fake, etcd } = setup();
    const start = (await etcd.put('r/a', '1')).header.revision;
    for await (const batch of etcd.watch({ prefix: 'r/' }, { startRevision: start })) {
      expect(batch.events).toHaveLength(1);
      break;
    }
    await until(() => fake.watches.size === 0);
  });
});

/** A stream of the first `n` lines of `body`, then a network error. */
function firstLines(body: ReadableStream<Uint8Array>, n: number): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(controller) {
      const reader = body.getReader();
      let text = '';
      while (text.split('\n').length <= n) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      controller.enqueue(new TextEncoder().encode(text.split('\n').slice(0, n).join('\n') + '\n'));
      await reader.cancel();
    },
    // Called once the consumer has taken those lines.
    pull(controller) {
      controller.error(new TypeError('terminated'));
    },
  });
}

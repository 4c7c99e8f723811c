import { describe, expect, it, vi } from 'vitest';
import { Balancer } from '../balance/index.js';
import { instance } from '../testing/internal/balance.js';
import { OutgoingBody } from './body.js';
import { SweptDeadlines, TIMERS, type Deadlines } from './deadlines.js';
import { forward, type ForwardDeps, type Forwarded, type Forwarding } from './forward.js';
import type { ClientLink } from './inbound.js';
import { UpstreamError, type Cancellable, type Upstream, type UpstreamReply, type UpstreamRequest } from './upstream.js';

const A = instance('a');
const B = instance('b');

/** An upstream that answers in the same call, with the status `statusOf` gives each origin. */
class SyncUpstream implements Upstream {
  readonly origins: string[] = [];
  constructor(readonly statusOf: (origin: string) => number) {}

  send(request: UpstreamRequest, reply: UpstreamReply): void {
    this.origins.push(request.origin);
    reply.headersArrived();
    reply.answered({ status: this.statusOf(request.origin), headers: [], body: null });
  }
}

const client: ClientLink = { gone: false, watch: () => undefined };

function request(method = 'GET'): Forwarding {
  return { instances: [A, B], pick: {}, first: A, method, path: '/x', headers: [], body: OutgoingBody.empty, client, startedAt: Date.now() };
}

function deps(upstream: Upstream, balancer = new Balancer()): ForwardDeps {
  return { balancer, upstream, retry: { maxAttempts: 3, deadlineMs: 5_000, upstreamTimeoutMs: 1_000 }, now: Date.now };
}

/** Runs `forward` and collects what it told, synchronously: the upstream answers in the same call. */
function run(d: ForwardDeps, r: Forwarding): { results: Forwarded[]; broken: unknown[] } {
  const results: Forwarded[] = [];
  const broken: unknown[] = [];
  forward(d, r, { forwarded: (result) => results.push(result), broke: (error) => broken.push(error) });
  return { results, broken };
}

describe('forward', () => {
  it('handles an upstream that answers before send returns, retrying a 503 on the other instance', () => {
    const upstream = new SyncUpstream((origin) => (origin === A.url ? 503 : 200));
    const { results, broken } = run(deps(upstream), request());
    expect(upstream.origins).toEqual([A.url, B.url]);
    expect(broken).toEqual([]);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ ok: true, instance: B, attempts: 2 });
  });

  it('passes a 503 on a POST back as it is: the request may have reached the instance', () => {
    const upstream = new SyncUpstream(() => 503);
    const { results } = run(deps(upstream), request('POST'));
    expect(upstream.origins).toEqual([A.url]);
    expect(results[0]).toMatchObject({ ok: true, instance: A, attempts: 1 });
  });

  it('tells `broke` when a step called back by the upstream throws, so the request cannot hang', () => {
    const balancer = new Balancer();
    const upstream = new SyncUpstream(() => 503);
    // The retry's pick is the step that fails.
    balancer.pick = () => {
      throw new Error('a bug in selection');
    };
    const { results, broken } = run(deps(upstream, balancer), request());
    expect(results).toEqual([]);
    expect(broken).toHaveLength(1);
    expect((broken[0] as Error).message).toBe('a bug in selection');
  });

  it('tells `broke` once, and nothing else, when the attempt bookkeeping throws inside the reply', () => {
    const balancer = new Balancer();
    balancer.begin = (instance) => ({
      instance,
      end: () => {
        throw new Error('a bug in outlier tracking');
      },
    });
    const { results, broken } = run(deps(new SyncUpstream(() => 200), balancer), request());
    expect(results).toEqual([]);
    expect(broken.map((e) => (e as Error).message)).toEqual(['a bug in outlier tracking']);
  });

  for (const [name, deadlines] of [
    ['a timer each', TIMERS],
    ['swept', new SweptDeadlines({ tickMs: 100 })],
  ] as [string, Deadlines][]) {
    it(`times out an instance that never answers and tries the other (${name}), cancelling the hung attempt`, () => {
      vi.useFakeTimers();
      try {
        const cancelled: unknown[] = [];
        const upstream: Upstream = {
          send(request, reply) {
            if (request.origin === B.url) return reply.answered({ status: 200, headers: [], body: null });
            // A never answers; its attempt is cancelled on timeout, and the upstream then fails it.
            const target: Cancellable = { cancel: (reason) => (cancelled.push(reason), reply.failed(new UpstreamError('failed', 'cancelled'))) };
            request.cancel.onCancel(target);
          },
        };
        const { results } = run({ ...deps(upstream), deadlines, now: Date.now }, request());
        vi.advanceTimersByTime(999);
        expect(results).toEqual([]);
        vi.advanceTimersByTime(300);
        expect(cancelled).toHaveLength(1);
        expect(results[0]).toMatchObject({ ok: true, instance: B, attempts: 2 });
        // Nothing is left armed: the answered attempt disarmed its deadline.
        vi.advanceTimersByTime(10_000);
        expect(results).toHaveLength(1);
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        vi.useRealTimers();
      }
    });
  }
});

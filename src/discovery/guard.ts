import { EtcdCompactedError, EtcdLeaseNotFoundError, sleep, type EtcdClient, type KeyValue } from '../etcd/index.js';
import type { LossReason, RegistrarEvent } from './registrar-types.js';

export interface GuardSpec {
  key: string;
  leaseId: string;
  /** Revision of our write; the key watch starts after it. */
  revision: number;
  ttlMs: number;
  observeDelayMs: number;
  /** Deadline of each keepalive: a stalled connection must fail within the TTL, not hang past it. */
  requestTimeoutMs: number;
  signal: AbortSignal;
  emit: (event: RegistrarEvent) => void;
}

/**
 * Watches over a registered key until it is lost or `signal` aborts:
 * keepalives every TTL/3, a watch on the key, and a read every
 * `observeDelayMs`. Resolves with the first loss seen, or undefined on abort.
 */
export function guardRegistration(etcd: EtcdClient, spec: GuardSpec): Promise<LossReason | undefined> {
  const phase = new AbortController();
  const stop = (): void => phase.abort();
  spec.signal.addEventListener('abort', stop, { once: true });
  return new Promise<LossReason | undefined>((resolve) => {
    const lose = (reason: LossReason | undefined): void => {
      resolve(reason);
      phase.abort();
    };
    phase.signal.addEventListener('abort', () => resolve(undefined), { once: true });
    void keepAlive(etcd, spec, phase.signal).then(lose, () => lose('unreachable'));
    void watchKey(etcd, spec, phase.signal).then((reason) => reason && lose(reason), () => undefined);
    void observeKey(etcd, spec, phase.signal).then((reason) => reason && lose(reason), () => undefined);
  }).finally(() => spec.signal.removeEventListener('abort', stop));
}

async function keepAlive(etcd: EtcdClient, spec: GuardSpec, signal: AbortSignal): Promise<LossReason | undefined> {
  const interval = Math.max(100, spec.ttlMs / 3);
  let lastBeat = Date.now();
  let failing = false;
  while (await sleep(failing ? Math.min(1_000, interval) : interval, signal)) {
    try {
      await etcd.leaseKeepAlive(spec.leaseId, { signal, timeoutMs: spec.requestTimeoutMs });
      lastBeat = Date.now();
      if (failing) spec.emit({ type: 'keepalive-recovered' });
      failing = false;
    } catch (error) {
      if (signal.aborted) return undefined;
      if (error instanceof EtcdLeaseNotFoundError) return 'lease-expired';
      if (!failing) spec.emit({ type: 'keepalive-failed', error });
      failing = true;
      if (Date.now() - lastBeat >= spec.ttlMs) return 'unreachable';
    }
  }
  return undefined;
}

async function watchKey(etcd: EtcdClient, spec: GuardSpec, signal: AbortSignal): Promise<LossReason | undefined> {
  let from = spec.revision + 1;
  for (;;) {
    try {
      for await (const batch of etcd.watch(spec.key, { startRevision: from, signal })) {
        for (const event of batch.events) {
          if (event.type === 'delete') return 'key-deleted';
          if (event.kv.lease !== spec.leaseId) return 'key-taken';
        }
      }
      return undefined;
    } catch (error) {
      // A quiet key's watch resumes from its first revision, which compaction
      // may remove: check the key, then watch again from now.
      if (signal.aborted || !(error instanceof EtcdCompactedError)) throw error;
      const { kvs, header } = await etcd.range(spec.key, { signal });
      const loss = lossOf(kvs[0], spec.leaseId);
      if (loss) return loss;
      from = header.revision + 1;
    }
  }
}

function lossOf(kv: KeyValue | undefined, leaseId: string): LossReason | undefined {
  if (kv === undefined) return 'key-deleted';
  return kv.lease === leaseId ? undefined : 'key-taken';
}

async function observeKey(etcd: EtcdClient, spec: GuardSpec, signal: AbortSignal): Promise<LossReason | undefined> {
  while (await sleep(spec.observeDelayMs, signal)) {
    try {
      const loss = lossOf((await etcd.range(spec.key, { signal })).kvs[0], spec.leaseId);
      if (loss) return loss;
    } catch {
      // Unreachable etcd is the keepalive's to judge.
    }
  }
  return undefined;
}

import type { Instance, SkippedRecord } from '../registry/index.js';
import { DEFAULT_DENY, LOOPBACK_DENY, matches, parseRule, type AddressRule } from './address-rules.js';
import { isLoopback, parseIp } from './ip.js';

export interface AddressPolicyOptions {
  /** When non-empty, an instance must match one of these. */
  allow?: readonly string[];
  /** Added to the default deny list; a match always denies. */
  deny?: readonly string[];
  /** `loopback-only` skips IP-literal instances other than loopback (production Workers cannot fetch IPs). */
  ipLiterals?: 'allow' | 'loopback-only';
  /** Allow loopback instances (127.0.0.0/8, ::1, `localhost`), for development; denied by default. */
  allowLoopback?: boolean;
}

/**
 * Which addresses instances may point the gateway at, so that whoever can
 * write to etcd cannot aim it at a metadata service or anything off the list.
 *
 * @example
 * const policy = new AddressPolicy({ allow: ['10.0.0.0/8', '*.svc.cluster.local'] });
 * policy.check(instance); // undefined, or why the instance is skipped
 */
export class AddressPolicy {
  readonly #allow: AddressRule[];
  readonly #deny: AddressRule[];
  readonly #loopbackOnly: boolean;
  /** The deny rules that are there because loopback is not allowed, to say how to opt in. */
  readonly #loopback: ReadonlySet<string>;

  /** @throws {RangeError} for an entry that is not a rule */
  constructor(options: AddressPolicyOptions = {}) {
    this.#allow = (options.allow ?? []).map(toRule);
    this.#deny = [...DEFAULT_DENY, ...(options.allowLoopback ? [] : LOOPBACK_DENY), ...(options.deny ?? [])].map(toRule);
    this.#loopback = new Set(options.allowLoopback ? [] : LOOPBACK_DENY);
    this.#loopbackOnly = options.ipLiterals === 'loopback-only';
  }

  /** Why the instance may not be used, or undefined when it may. */
  check(instance: Instance): string | undefined {
    const host = hostOf(instance.url);
    if (host === undefined) return 'address policy: the URL has no host';
    const ip = parseIp(host);
    const name = ip === undefined ? host.toLowerCase().replace(/\.$/, '') : host;
    const denied = this.#deny.find((rule) => matches(rule, name, ip));
    if (denied) return `address policy: ${host} is denied (${this.#why(denied)})`;
    if (this.#allow.length > 0 && !this.#allow.some((rule) => matches(rule, name, ip))) {
      return `address policy: ${host} is not in the allow list`;
    }
    if (this.#loopbackOnly && ip !== undefined && !isLoopback(ip)) {
      return `address policy: ${host} is an IP address, which Workers cannot fetch; register a hostname`;
    }
    return undefined;
  }

  /**
   * Why a hostname instance may not be reached at this resolved address
   * (checked when connecting, so a name that resolves to a denied address is
   * refused however it is spelled, and DNS rebinding cannot get around the
   * deny list). Only deny rules apply: allow rules were matched by name.
   */
  checkResolved(address: string): string | undefined {
    const ip = parseIp(address);
    if (ip === undefined) return `address policy: ${address} is not an IP address`;
    const denied = this.#deny.find((rule) => rule.kind === 'cidr' && matches(rule, '', ip));
    return denied ? `address policy: resolves to ${address}, which is denied (${this.#why(denied)})` : undefined;
  }

  #why(rule: AddressRule): string {
    return this.#loopback.has(rule.text) ? `${rule.text}, loopback; ETCD_EDGE_ALLOW_LOOPBACK=true allows it for development` : rule.text;
  }
}

function toRule(text: string): AddressRule {
  const { rule, problem } = parseRule(text);
  if (!rule) throw new RangeError(`address rule ${JSON.stringify(text)}: ${problem}`);
  return rule;
}

function hostOf(url: string): string | undefined {
  const authority = /^https?:\/\/([^/?#]+)/i.exec(url)?.[1];
  if (authority === undefined) return undefined;
  if (authority.startsWith('[')) return authority.slice(0, authority.indexOf(']') + 1);
  return authority.replace(/:\d+$/, '');
}

/** A snapshot's instances split by the address policy; built once per snapshot. */
export interface Routable {
  /** The instances the gateway may send to; the same array while the snapshot is unchanged. */
  readonly instances: readonly Instance[];
  /** Instances the policy refused, as skipped records with the reason. */
  readonly denied: readonly SkippedRecord[];
}

/** Applies an address policy to instance lists, remembering each list's answer. */
export class RoutableCache {
  readonly #policy: AddressPolicy;
  readonly #cache = new WeakMap<readonly Instance[], Routable>();

  constructor(policy: AddressPolicy) {
    this.#policy = policy;
  }

  of(instances: readonly Instance[]): Routable {
    let routable = this.#cache.get(instances);
    if (!routable) {
      routable = this.#split(instances);
      this.#cache.set(instances, routable);
    }
    return routable;
  }

  #split(instances: readonly Instance[]): Routable {
    const allowed: Instance[] = [];
    const denied: SkippedRecord[] = [];
    for (const instance of instances) {
      const reason = this.#policy.check(instance);
      if (reason === undefined) allowed.push(instance);
      else denied.push({ key: instance.key, layout: instance.layout, reason });
    }
    // Keep the snapshot's own array when nothing is denied, so caches keyed on it stay warm.
    return Object.freeze({ instances: denied.length === 0 ? instances : Object.freeze(allowed), denied: Object.freeze(denied) });
  }
}

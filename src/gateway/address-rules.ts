import { inCidr, parseCidr } from './ip.js';

/** One entry of an allow or deny list: a CIDR (or single address), a hostname, or `*.suffix`. */
export type AddressRule =
  | { kind: 'cidr'; text: string; base: bigint; bits: number }
  | { kind: 'host'; text: string; name: string }
  | { kind: 'suffix'; text: string; suffix: string };

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Parses one rule; `problem` says why an entry is not one. */
export function parseRule(text: string): { rule?: AddressRule; problem?: string } {
  const cidr = parseCidr(text);
  if (cidr) return { rule: { kind: 'cidr', text, ...cidr } };
  if (/^[0-9a-fA-F:.]+(\/\d+)?$/.test(text) && (text.includes(':') || /^[\d./]+$/.test(text))) return { problem: 'not a valid IP address or CIDR' };
  const name = text.toLowerCase().replace(/\.$/, '');
  if (name.startsWith('*.')) {
    return HOSTNAME.test(name.slice(2)) ? { rule: { kind: 'suffix', text, suffix: name.slice(1) } } : { problem: 'not a valid *.domain pattern' };
  }
  return HOSTNAME.test(name) ? { rule: { kind: 'host', text, name } } : { problem: 'not a CIDR, an IP address, a hostname or *.domain' };
}

/** Whether a host (lowercase name, or an IP as 128 bits) matches a rule. */
export function matches(rule: AddressRule, name: string, ip: bigint | undefined): boolean {
  switch (rule.kind) {
    case 'cidr':
      return ip !== undefined && inCidr(ip, rule);
    case 'host':
      return ip === undefined && name === rule.name;
    case 'suffix':
      return ip === undefined && name.endsWith(rule.suffix);
  }
}

/**
 * Denied unless configured otherwise: link-local (where every cloud's metadata
 * service lives, also as NAT64), the other clouds' metadata addresses and names, and
 * "this host" addresses that reach the gateway's own machine by another name.
 */
export const DEFAULT_DENY: readonly string[] = [
  '169.254.0.0/16',
  'fe80::/10',
  '64:ff9b::a9fe:0/112',
  'fd00:ec2::254',
  '100.100.100.200',
  '0.0.0.0/8',
  '::',
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
];

/**
 * Denied unless `ETCD_EDGE_ALLOW_LOOPBACK` opts in (development): an instance on
 * loopback reaches whatever listens on the gateway's own machine (etcd's client
 * port, the admin listener, the gateway itself).
 */
export const LOOPBACK_DENY: readonly string[] = ['127.0.0.0/8', '::1', '64:ff9b::7f00:0/104', 'localhost', '*.localhost'];

/** IP literals as 128-bit numbers, IPv4 mapped into `::ffff:0:0/96` so one rule set covers both. */

const V4_MAPPED = 0xffffn << 32n;

/** A dotted quad (no leading zeros, no short forms), as a number. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

/** An IPv6 literal without brackets or zone, `::` and a dotted IPv4 tail allowed. */
export function parseIPv6(text: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  // A dotted IPv4 part may only end the address.
  const head = groups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1]!, true) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const group of [...head, ...new Array<number>(missing).fill(0), ...tail]) value = (value << 16n) | BigInt(group);
  return value;
}

function groups(text: string, v4Tail: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const out: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (v4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4(part);
      if (v4 === undefined) return undefined;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
      out.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return out;
}

/** Either kind of literal (IPv6 with or without brackets) as 128 bits; undefined for a hostname. */
export function parseIp(host: string): bigint | undefined {
  const v4 = parseIPv4(host);
  if (v4 !== undefined) return V4_MAPPED | BigInt(v4);
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return parseIPv6(bare);
}

/** `address/bits` (or one address) as a 128-bit prefix; IPv4 prefixes are mapped. */
export function parseCidr(text: string): { base: bigint; bits: number } | undefined {
  const [address, bitsText, extra] = text.split('/');
  if (extra !== undefined || address === undefined) return undefined;
  const v4 = parseIPv4(address);
  const value = v4 !== undefined ? V4_MAPPED | BigInt(v4) : parseIPv6(address);
  if (value === undefined) return undefined;
  const max = v4 !== undefined ? 32 : 128;
  if (bitsText !== undefined && !/^(0|[1-9]\d{0,2})$/.test(bitsText)) return undefined;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (bits > max) return undefined;
  const total = bits + (v4 !== undefined ? 96 : 0);
  return { base: value & prefixMask(total), bits: total };
}

export function inCidr(ip: bigint, cidr: { base: bigint; bits: number }): boolean {
  return (ip & prefixMask(cidr.bits)) === cidr.base;
}

function prefixMask(bits: number): bigint {
  return bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(128 - bits);
}

export function isLoopback(ip: bigint): boolean {
  return ip === 1n || (ip >> 24n) === (V4_MAPPED | 0x7f000000n) >> 24n;
}

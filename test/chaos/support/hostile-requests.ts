import fc from 'fast-check';
import { HOSTILE_SERVICES, INJECTED, SPOOFED_HOST, type Canaries } from './hostile-input.js';

/** Services a fuzzed request may name, besides made-up and malformed names. */
export const ROUTED_SERVICES = ['fz-real', 'fz-decoy', 'fz-meta', 'fz-big', ...HOSTILE_SERVICES];

/** Hop-by-hop fields the fuzzer sends (besides `Connection` and the fields it names). */
export const HOP_FIELDS = ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'expect'];

export type Framing = 'none' | 'length' | 'chunked' | 'length-and-chunked' | 'two-lengths';

export interface HostileRequest {
  method: string;
  /** The request-target exactly as sent. */
  target: string;
  /** Header lines in order, sent byte for byte (latin1), `x-request-id` added last. */
  headers: [string, string][];
  body: string | undefined;
  framing: Framing;
}

const charFrom = (chars: string) => fc.constantFrom(...chars.split(''));
const TOKEN = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz";
/** A request hidden in a body; it carries its own id, `{id}-smuggled`, so a runtime that reads it as a request of its own is seen doing so. */
const smuggledRequest = (id: string): string => `GET /svc/fz-decoy/smuggled HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}-smuggled\r\n\r\n`;

/** Requests a hostile client could write: odd names, paths, queries, framing and header fields. */
export function hostileRequest(c: Canaries): fc.Arbitrary<HostileRequest> {
  const denied = `127.0.0.2:${c.deniedPort}`;
  const serviceSegment = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('fz-real', 'fz-decoy', 'fz-big') },
    { weight: 3, arbitrary: fc.constantFrom(...ROUTED_SERVICES) },
    {
      weight: 2,
      arbitrary: fc.constantFrom('nobody', '', '.', '..', '%2e%2e', 'fz-d%65coy', 'FZ-REAL', 'fz-real%2f..%2ffz-decoy', 'fz-real%0d%0ax-injected:%201', 'x'.repeat(129), '169.254.169.254', denied, `@${denied}`, 'fz-real;x', 'fz-réal'),
    },
    { weight: 1, arbitrary: fc.string({ unit: charFrom('abcfz-._%2e0'), maxLength: 10 }) },
  );
  const segment = fc.oneof(
    { weight: 8, arbitrary: fc.string({ unit: charFrom('abcxyz0189-_.~'), minLength: 1, maxLength: 8 }) },
    fc.constantFrom('.', '..', '%2e', '%2E%2e', '%2f', '%5c', '\\', '%00', '%', '%zz', '', 'x', `@${denied}`, `http:%2f%2f${denied}`, denied, '%0d%0ax-injected:%201', '%0ax-injected:1', ';', '%3f', '%23', 'é'),
    fc.string({ unit: charFrom('abc/.%-_~!$&()*+,;=:@'), maxLength: 10 }),
  );
  const path = fc.tuple(serviceSegment, fc.array(segment, { maxLength: 4 }), fc.boolean()).map(([s, rest, slashes]) => `/svc/${s}${slashes ? '/' : ''}${rest.map((r) => `/${r}`).join('')}`);
  const query = fc.option(
    fc.oneof(fc.constantFrom('a=1&a=2', 'x=%0d%0ax-injected:%201', `url=http://${denied}/`, 'q=a%20b', '', '?', '#frag', 'a=%ff%fe'), fc.string({ unit: charFrom('abc=&%+;,/?:@'), maxLength: 16 })),
    { nil: undefined },
  );
  const target = fc.oneof(
    { weight: 9, arbitrary: fc.tuple(path, query).map(([p, q]) => (q === undefined ? p : `${p}?${q}`)) },
    { weight: 1, arbitrary: path.map((p) => `http://${denied}${p}`) },
    { weight: 1, arbitrary: fc.constantFrom('*', denied, `//${denied}/svc/fz-real/x`, '/svc', '/svc/', '/', '/_edge/health') },
  );
  const hop = fc.subarray<[string, string]>([
    ['Connection', 'keep-alive, x-hop-a, X-Hop-B, te, upgrade'],
    ['X-Hop-A', 'hop a'],
    ['X-Hop-B', 'hop b'],
    ['Keep-Alive', 'timeout=7, max=77'],
    ['Proxy-Connection', 'keep-alive'],
    ['TE', 'trailers, deflate'],
    ['Trailer', 'x-hop-a'],
    ['Upgrade', 'h2c, websocket'],
    ['Proxy-Authorization', 'Basic aG9zdGlsZTpwdw=='],
    ['Expect', '100-continue'],
  ]);
  const spoof = fc.subarray<[string, string]>([
    ['X-Forwarded-For', '169.254.169.254'],
    ['X-Forwarded-Host', SPOOFED_HOST],
    ['X-Forwarded-Proto', 'https'],
    ['Forwarded', `for=169.254.169.254;host=${SPOOFED_HOST};proto=https`],
    ['Via', '1.1 spoofed'],
    ['X-Real-IP', '169.254.169.254'],
  ]);
  const host = fc.oneof(
    { weight: 6, arbitrary: fc.constant<[string, string][]>([['Host', 'gateway.test']]) },
    fc.constantFrom<[string, string][]>([['Host', 'a.test'], ['Host', denied]], [], [['Host', denied]], [['Host', '']], [['Host', 'a b']], [['Host', '169.254.169.254']]),
  );
  const smuggling = fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, fc.subarray<[string, string]>([
    ['X-Bare-Cr', `a\r${INJECTED}: 1`],
    ['X-Bare-Lf', `a\n${INJECTED}: 1`],
    ['X-Nul', 'a\u0000b'],
    ['X-Encoded', `a%0d%0a${INJECTED}:%201`],
    [' X-Space', 'v'],
    ['X-Fold', `a\r\n ${INJECTED}: 1`],
  ], { minLength: 1, maxLength: 2 }));
  const long = fc.option(fc.constantFrom(100, 4_000, 8_000, 12_000, 17_000, 70_000).map((n): [string, string] => ['X-Long', 'l'.repeat(n)]), { nil: undefined, freq: 3 });
  const extra = fc.array(
    fc.tuple(
      fc.oneof(fc.string({ unit: charFrom(TOKEN), minLength: 1, maxLength: 10 }), fc.constantFrom('x-edge-tags', 'cookie', 'authorization', 'cf-connecting-ip', 'traceparent')),
      fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((n) => String.fromCharCode(n === 0x7f ? 0x09 : n)), maxLength: 30 }),
    ),
    { maxLength: 4 },
  ).map((pairs) => pairs.filter(([name]) => !/^(x-request-id|host|content-length|transfer-encoding)$/i.test(name)));
  return fc
    .record({
      method: fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      target,
      host,
      hop,
      spoof,
      smuggling,
      long,
      extra,
      body: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
      framing: fc.constantFrom<Framing>('length', 'length', 'length', 'chunked', 'chunked', 'length-and-chunked', 'two-lengths'),
    })
    .map((r) => ({
      method: r.method,
      target: r.target,
      headers: [...r.host, ...r.hop, ...r.spoof, ...r.smuggling, ...(r.long ? [r.long] : []), ...r.extra],
      body: r.body,
      framing: r.body === undefined ? 'none' : r.framing,
    }));
}

/** The request as bytes on the wire, ending with our `x-request-id`. */
export function requestBytes(r: HostileRequest, requestId: string): Buffer {
  const lines = [`${r.method} ${r.target} HTTP/1.1`, ...r.headers.map(([n, v]) => `${n}: ${v}`), `X-Request-Id: ${requestId}`];
  const body = r.body === undefined ? '' : r.body;
  const length = Buffer.byteLength(body, 'utf8');
  const chunked = `${length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const smuggled = smuggledRequest(requestId);
  let payload = '';
  switch (r.framing) {
    case 'none':
      break;
    case 'length':
      lines.push(`Content-Length: ${length}`);
      payload = body;
      break;
    case 'chunked':
      lines.push('Transfer-Encoding: chunked');
      payload = length === 0 ? '0\r\n\r\n' : chunked;
      break;
    case 'length-and-chunked':
      // The classic desync: by its length the body holds a second request, by its chunks it ends before it.
      lines.push(`Content-Length: ${Buffer.byteLength(chunked) + smuggled.length}`, 'Transfer-Encoding: chunked');
      payload = `${chunked}${smuggled}`;
      break;
    case 'two-lengths':
      lines.push(`Content-Length: ${length}`, `Content-Length: ${length + smuggled.length}`);
      payload = `${body}${smuggled}`;
      break;
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(payload, 'utf8')]);
}

/**
 * The services a runtime may route a request-target to. Node's gateway sees
 * the target as sent; workerd parses it first, and its URL parser need not
 * read `%2e%2e` as a dot segment the way WHATWG's does, so both readings count.
 */
export function routedServices(target: string, rawPaths: boolean): string[] {
  // The path as sent, from an absolute-form target too.
  const literal = serviceIn(target.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/, ''));
  if (rawPaths) return optional(literal);
  return [...new Set([...optional(serviceIn(parsedPath(target))), ...optional(literal)])];
}

function parsedPath(target: string): string | undefined {
  try {
    return new URL(target, 'http://gateway.test').pathname;
  } catch {
    return undefined;
  }
}

function serviceIn(path: string | undefined): string | undefined {
  const name = path === undefined ? undefined : /^\/svc\/([^/?#]*)/.exec(path)?.[1];
  return name !== undefined && /^[A-Za-z0-9._-]{1,128}$/.test(name) && name !== '.' && name !== '..' ? name : undefined;
}

const optional = <T>(value: T | undefined): T[] => (value === undefined ? [] : [value]);

/**
 * Whether an HTTP/1.1 server must parse the request as one well-framed
 * message of sane size: one plain Host, an origin-form ASCII target, one
 * framing, no folded lines, no bare CR or LF, no `Upgrade`, fields within
 * 16 KiB. The rest is for the runtime's own parser to refuse (Node answers
 * 400 or 431 before the gateway runs).
 */
export function isWellFormed(r: HostileRequest): boolean {
  const hosts = r.headers.filter(([name]) => name.toLowerCase() === 'host');
  return (
    hosts.length === 1 &&
    /^[A-Za-z0-9.:-]+$/.test(hosts[0]![1]) &&
    /^\/[\x21-\x7e]*$/.test(r.target) &&
    r.headers.reduce((n, [name, value]) => n + name.length + value.length + 4, 0) <= 16 * 1024 &&
    (r.framing === 'none' || r.framing === 'length' || r.framing === 'chunked') &&
    r.headers.every(([name, value]) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && !/[\r\n\0]/.test(value) && name.toLowerCase() !== 'upgrade')
  );
}

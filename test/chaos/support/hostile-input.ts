import fc from 'fast-check';

const enc = new TextEncoder();

/** Where the two canaries listen: neither may ever receive a request through the gateway. */
export interface Canaries {
  /** 127.0.0.1: never registered under a valid key with a valid address. */
  loopbackPort: number;
  /** 127.0.0.2: registered, but the gateway's deny list names it. */
  deniedPort: number;
}

/** Services whose records are only hostile: no request to them may reach any backend. */
export const HOSTILE_SERVICES = ['fz-h0', 'fz-h1', 'fz-h2', 'fz-h3'];
/** Marker in spoofed forwarding headers; it must never come out of the gateway. */
export const SPOOFED_HOST = 'xfh-spoof.example';
/** A header name only ever smuggled (bare CR/LF, encoded CRLF), never sent as a field of its own. */
export const INJECTED = 'x-injected';

/** Addresses that decode but the address policy must refuse (defaults, plus the deny list naming 127.0.0.2). */
export function forbiddenAddresses(c: Canaries): string[] {
  return [
    'http://169.254.169.254:80',
    '169.254.169.254',
    'http://[::ffff:169.254.169.254]:80',
    'http://[64:ff9b::a9fe:a9fe]:80',
    'http://[fe80::1]:8080',
    'http://[fd00:ec2::254]',
    'http://100.100.100.200',
    'metadata.google.internal',
    'http://metadata:80',
    `http://0.0.0.0:${c.loopbackPort}`,
    `0.0.0.0:${c.loopbackPort}`,
    `http://[::]:${c.loopbackPort}`,
    `http://127.0.0.2:${c.deniedPort}`,
    `127.0.0.2:${c.deniedPort}`,
    `https://127.0.0.2:${c.deniedPort}`,
    `http://[::ffff:127.0.0.2]:${c.deniedPort}`,
    `http://[::ffff:7f00:2]:${c.deniedPort}`,
  ];
}

/** Addresses that must not decode at all, most of them aimed at the loopback canary. */
export function malformedAddresses(c: Canaries): string[] {
  const p = c.loopbackPort;
  return [
    `http://127.0.0.1:${p}/x`,
    `http://evil@127.0.0.1:${p}`,
    `http://127.0.0.1:${p}@169.254.169.254`,
    `127.0.0.1:${p}?q=1`,
    `127.0.0.1:${p}#f`,
    `http://127.1:${p}`,
    `http://2130706433:${p}`,
    `http://0x7f000001:${p}`,
    `http://127.0.0.01:${p}`,
    `http://127.0.0.1:${p}\\@x`,
    `http://127.0.0.1%2f:${p}`,
    `http://[127.0.0.1]:${p}`,
    `ftp://127.0.0.1:${p}`,
    `//127.0.0.1:${p}`,
    `http:/127.0.0.1:${p}`,
    ` http://127.0.0.1:${p}`,
    `http://127.0.0.1:${p} `,
    `http://127.0.0.1:${p}\r\nx-injected: 1`,
    `http://127.0.0.1:${p + 65_536}`,
    `http://127.0.0.1:${p}:80`,
    `http://::1:${p}`,
    `http://127.0.0.1:-${p}`,
    '',
    'x'.repeat(400),
  ];
}

/** Hostnames that parse but can never resolve (RFC 6761): "other hosts" without leaving the machine. */
const OTHER_HOSTS = ['http://api.internal.invalid:9000', 'https://orders.invalid', 'payments.invalid:8443'];

const nonUtf8 = (bytes: Uint8Array): Uint8Array => Uint8Array.from([...bytes, 0xff]);
const concat = (...parts: (string | Uint8Array)[]): Uint8Array => {
  const arrays = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
};

/**
 * Keys and values a careless or hostile writer could leave under the
 * services prefix. No value decodes to an address the gateway may use, except
 * names that cannot resolve.
 */
export function hostileRecord(c: Canaries): fc.Arbitrary<{ key: Uint8Array; value: Uint8Array }> {
  const service = fc.constantFrom(...HOSTILE_SERVICES);
  const id = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('', '/', 'a/b', '..', '%2e', '\u0000', 'é'));
  const key = fc.oneof(
    fc.tuple(service, id).map(([s, i]) => enc.encode(`services/${s}/${i}`)),
    service.map((s) => enc.encode(`services/${s}`)),
    fc.tuple(service, fc.uint8Array({ maxLength: 12 })).map(([s, b]) => concat(`services/${s}/`, nonUtf8(b))),
    fc.uint8Array({ maxLength: 24 }).map((b) => concat('services/', nonUtf8(b))),
    fc.string({ maxLength: 20 }).map((s) => enc.encode(`services/${s.replace(/^fz-(real|decoy|big|many)/, 'x')}`)),
  );
  const addr = fc.oneof(
    fc.constantFrom(...forbiddenAddresses(c), ...malformedAddresses(c), ...OTHER_HOSTS),
    fc.string({ maxLength: 30 }).map((s) => `${s}%`),
    fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.object({ maxDepth: 1 })),
  );
  const weird = fc.oneof(fc.anything({ maxDepth: 2 }), fc.double(), fc.constantFrom(-1, 0, 1_000_001, Number.MAX_SAFE_INTEGER, '5', '', null));
  const record = fc.record(
    {
      Op: fc.oneof(fc.constant(0), fc.constant(1), weird),
      Addr: addr,
      Metadata: fc.oneof(weird, fc.record({ weight: weird, tags: weird }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  );
  const json = record.map((r) => JSON.stringify(r));
  const value = fc.oneof(
    json.map((t) => enc.encode(t)),
    json.chain((t) => fc.nat({ max: Math.max(0, t.length - 2) }).map((n) => enc.encode(t.slice(0, n)))),
    json.map((t) => nonUtf8(enc.encode(t))),
    fc.uint8Array({ maxLength: 300 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => enc.encode(JSON.stringify(v))),
    fc.constantFrom(...forbiddenAddresses(c), ...OTHER_HOSTS).chain((a) =>
      fc
        .constantFrom(
          `{"Op":0,"Addr":"${a}","Metadata":{"weight":1e400}}`,
          `{"Op":1e999,"Addr":"${a}"}`,
          `{"Op":0,"Addr":"${a}","Metadata":{"weight":123456789012345678901234567890}}`,
          `{"Op":0,"Addr":"${a}","Metadata":{"weight":-0.0000001}}`,
          `{"Op":0,"Addr":"${a}","Addr":"${a}"}`,
          `{"Op":0,"Addr":"${a}","Metadata":{"weight":NaN}}`,
          `{"__proto__":{"Addr":"${a}"},"Op":0}`,
          `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
          `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
          `{"Op":0,"Addr":"${a}","Metadata":{"pad":"${'p'.repeat(70_000)}"}}`,
        )
        .map((t) => enc.encode(t)),
    ),
  );
  return fc.record({ key, value });
}

/** Records pointing at the loopback canary that only a broken decoder would take: non-UTF-8 keys, deletes, oversize. */
export function canaryTraps(c: Canaries, services: readonly string[]): { key: Uint8Array; value: Uint8Array }[] {
  const valid = enc.encode(JSON.stringify({ Op: 0, Addr: `http://127.0.0.1:${c.loopbackPort}`, Metadata: { weight: 100 } }));
  return services.flatMap((s) => [
    { key: concat(`services/${s}/trap-`, Uint8Array.of(0xc3, 0x28)), value: valid },
    { key: concat(`services/${s}/trap-`, Uint8Array.of(0xff, 0xfe)), value: valid },
    { key: concat(`services/${s}`, Uint8Array.of(0xed, 0xa0, 0x80), '/trap'), value: valid },
    { key: enc.encode(`services/${s}/trap-delete`), value: enc.encode(JSON.stringify({ Op: 1, Addr: `http://127.0.0.1:${c.loopbackPort}` })) },
    { key: enc.encode(`services/${s}/trap-huge`), value: enc.encode(JSON.stringify({ Op: 0, Addr: `http://127.0.0.1:${c.loopbackPort}`, Metadata: { pad: 'p'.repeat(65_536) } })) },
  ]);
}

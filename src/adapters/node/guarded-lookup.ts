import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';

type Callback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** The `lookup` shape `net.connect` calls for a hostname (never for an IP literal). */
export type LookupFunction = (hostname: string, options: LookupOptions, callback: Callback) => void;

type AllLookup = (hostname: string, options: LookupOptions & { all: true }, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/** Code of the connect error when a name resolves to a denied address. */
export const ADDRESS_DENIED = 'EADDRDENIED';

/**
 * A DNS lookup for connections to instances that fails when the name resolves
 * to any address `check` refuses, so a registered hostname cannot lead the
 * gateway to a denied address (a metadata service, say) by what it resolves to.
 * The failure is a connect error: nothing was sent, and another instance is tried.
 */
export function guardedLookup(check: (address: string) => string | undefined, lookup: AllLookup = dnsLookup as AllLookup): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      const fail = (e: NodeJS.ErrnoException) => (options.all ? callback(e, []) : callback(e, '', 0));
      if (error) return fail(error);
      for (const { address } of addresses) {
        const reason = check(address);
        if (reason !== undefined) return fail(Object.assign(new Error(`${hostname}: ${reason}`), { code: ADDRESS_DENIED }));
      }
      const first = addresses[0];
      if (!first) return fail(Object.assign(new Error(`${hostname}: no addresses`), { code: 'ENOTFOUND' }));
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../gateway/index.js';
import { ADDRESS_DENIED, guardedLookup } from './guarded-lookup.js';

const policy = new AddressPolicy({});
const zones: Record<string, LookupAddress[]> = {
  'rebind.test': [{ address: '10.0.0.7', family: 4 }, { address: '169.254.169.254', family: 4 }],
  'ok.test': [{ address: '2001:db8::5', family: 6 }, { address: '10.0.0.7', family: 4 }],
};
const fakeDns = (hostname: string, _options: object, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) =>
  setImmediate(() => (zones[hostname] ? callback(null, zones[hostname]) : callback(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }), [])));
const lookup = guardedLookup((address) => policy.checkResolved(address), fakeDns);

function resolve(hostname: string, all: boolean): Promise<{ error: NodeJS.ErrnoException | null; result: unknown; family?: number | undefined }> {
  return new Promise((done) => lookup(hostname, { all }, (error, result, family) => done({ error, result, family })));
}

describe('guardedLookup', () => {
  it('fails the connection when any address the name resolves to is denied', async () => {
    for (const all of [false, true]) {
      const { error } = await resolve('rebind.test', all);
      expect(error?.code).toBe(ADDRESS_DENIED);
      expect(error?.message).toMatch(/rebind\.test: address policy: resolves to 169\.254\.169\.254/);
    }
  });

  it('answers in the shape asked for when every address is allowed', async () => {
    expect(await resolve('ok.test', false)).toEqual({ error: null, result: '2001:db8::5', family: 6 });
    expect((await resolve('ok.test', true)).result).toEqual(zones['ok.test']);
  });

  it('passes resolver errors through', async () => {
    expect((await resolve('missing.test', false)).error?.code).toBe('ENOTFOUND');
  });
});

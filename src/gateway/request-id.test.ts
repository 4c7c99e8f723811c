import { describe, expect, it, vi } from 'vitest';

/** A fresh copy of the module, so each test starts before the first draw. */
async function fresh(): Promise<typeof import('./request-id.js')> {
  vi.resetModules();
  return import('./request-id.js');
}

describe('newRequestId', () => {
  it('makes version-8 UUIDs that share one prefix and count up', async () => {
    const { newRequestId } = await fresh();
    const ids = Array.from({ length: 3 }, newRequestId);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids.map((id) => id.slice(0, 24))).size).toBe(1);
    expect(ids.map((id) => id.slice(24))).toEqual(['000000000000', '000000000001', '000000000002']);
  });

  it('draws the random part on first use, not when loaded, and differs between processes', async () => {
    const draw = vi.spyOn(crypto, 'getRandomValues');
    try {
      const first = await fresh();
      expect(draw).not.toHaveBeenCalled();
      const a = first.newRequestId();
      expect(draw).toHaveBeenCalledTimes(1);
      first.newRequestId();
      expect(draw).toHaveBeenCalledTimes(1);
      const second = await fresh();
      expect(second.newRequestId().slice(0, 24)).not.toBe(a.slice(0, 24));
    } finally {
      draw.mockRestore();
    }
  });
});

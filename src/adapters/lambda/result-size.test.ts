import type { LambdaEvent } from 'hono/aws-lambda';
import { describe, expect, it } from 'vitest';
import { bodyBudget, readWithin, resultBytes, resultLimitOf } from './result-size.js';

/** A body of `chunks` chunks of `size` bytes that counts what was pulled and whether it was cancelled. */
function counted(chunks: number, size: number) {
  const seen = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (seen.pulled === chunks) return controller.close();
        seen.pulled++;
        controller.enqueue(new Uint8Array(size).fill(seen.pulled));
      },
      cancel() {
        seen.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { body, seen };
}

describe('Lambda result size', () => {
  it('an ALB takes 1 MB of result JSON back, every other source 6 MiB', () => {
    expect(resultLimitOf({ requestContext: { elb: {} } } as unknown as LambdaEvent)).toBe(1_000_000);
    expect(resultLimitOf({ requestContext: { http: {} } } as unknown as LambdaEvent)).toBe(6 * 1024 * 1024);
    expect(resultBytes({ body: 'é' })).toBe('{"body":"é"}'.length + 1);
  });

  it('leaves room for base64 when hono/aws-lambda will use it: binary types and any content coding', () => {
    const budget = (fields: Record<string, string>) => bodyBudget(new Headers(fields), 1200);
    expect(budget({ 'content-type': 'application/json' })).toBe(1200);
    expect(budget({ 'content-type': 'text/plain', 'content-encoding': 'identity' })).toBe(1200);
    expect(budget({ 'content-type': 'image/png' })).toBe(900);
    expect(budget({ 'content-type': 'application/json', 'content-encoding': 'gzip' })).toBe(900);
    expect(budget({})).toBe(1200);
  });

  it('refuses a Content-Length over the budget without reading a byte', async () => {
    const { body, seen } = counted(10, 100);
    expect(await readWithin(new Response(body, { headers: { 'content-length': '1000' } }), 999)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seen).toEqual({ pulled: 0, cancelled: true });
  });

  it('reads a body of unknown length only until it passes the budget, then cancels the rest', async () => {
    const { body, seen } = counted(10, 100);
    expect(await readWithin(new Response(body), 250)).toBeUndefined();
    expect(seen).toEqual({ pulled: 3, cancelled: true });
  });

  it('gives a body within the budget back whole, with its status and fields', async () => {
    const { body } = counted(3, 100);
    const read = await readWithin(new Response(body, { status: 201, headers: { 'x-a': '1' } }), 300);
    expect(read?.status).toBe(201);
    expect(read?.headers.get('x-a')).toBe('1');
    const bytes = new Uint8Array(await read!.arrayBuffer());
    expect([bytes.length, bytes[0], bytes[299]]).toEqual([300, 1, 3]);
    const empty = new Response(null, { status: 204 });
    expect(await readWithin(empty, 0)).toBe(empty);
  });
});

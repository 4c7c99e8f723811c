import { defaultIsContentTypeBinary, type LambdaEvent } from 'hono/aws-lambda';

/** Lambda refuses a buffered result whose JSON passes 6 MB (its error names 6,291,556 bytes; 6 MiB stays under). */
const LAMBDA_RESULT_BYTES = 6 * 1024 * 1024;

/** An ALB takes at most "1 MB" of result JSON from a Lambda target; read as 10^6, the stricter meaning. */
const ALB_RESULT_BYTES = 1_000_000;

/** The most bytes of result JSON the event's source takes back. */
export function resultLimitOf(event: LambdaEvent): number {
  const context = (event as { requestContext?: object | null }).requestContext;
  return context && 'elb' in context ? ALB_RESULT_BYTES : LAMBDA_RESULT_BYTES;
}

/** A result's size as Lambda counts it: its JSON, in UTF-8. */
export function resultBytes(result: unknown): number {
  return Buffer.byteLength(JSON.stringify(result));
}

/**
 * The most body bytes that can fit in `limit`. `hono/aws-lambda` sends a body
 * as base64 (4 bytes for 3) when its type is binary or it has a content
 * coding other than `identity`, else as text, which JSON never makes smaller.
 */
export function bodyBudget(headers: Headers, limit: number): number {
  const type = headers.get('content-type');
  const coding = headers.get('content-encoding');
  const base64 = (type !== null && defaultIsContentTypeBinary(type)) || (coding !== null && !/^identity$/i.test(coding));
  return base64 ? Math.floor(limit / 4) * 3 : limit;
}

/**
 * The response with its body read whole, or undefined when the body has more
 * than `budget` bytes: a Content-Length over it is refused unread; otherwise
 * reading stops once the budget is passed. Either way the rest is cancelled,
 * which lets go of the instance's connection.
 */
export async function readWithin(response: Response, budget: number): Promise<Response | undefined> {
  const body = response.body;
  if (body === null) return response;
  if (Number(response.headers.get('content-length') ?? NaN) > budget) {
    body.cancel().catch(ignore);
    return undefined;
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > budget) {
      reader.cancel().catch(ignore);
      return undefined;
    }
    chunks.push(value);
  }
  // No body at all when there is none: a 204 or 304 may not have one, even empty.
  return new Response(total === 0 ? null : Buffer.concat(chunks, total), { status: response.status, statusText: response.statusText, headers: response.headers });
}

function ignore(): void {}

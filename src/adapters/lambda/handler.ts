import { Hono } from 'hono';
import { handle, type APIGatewayProxyResult, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { errorResponse, type AccessRecord, type Env, type GatewayErrorCode } from '../../gateway/index.js';
import { accessRecordOf } from '../../http/index.js';
import { withJoinedFields } from './event-fields.js';
import { gateways, pathOf, type LambdaBindings } from './gateway.js';
import { bodyBudget, readWithin, resultBytes, resultLimitOf } from './result-size.js';

type LambdaHandle = (event: LambdaEvent, context: LambdaContext) => Promise<APIGatewayProxyResult>;

/**
 * A gateway's app as `hono/aws-lambda` runs it, with answers held to what the
 * event's source takes back: an instance's body is read only up to what can
 * fit, and a result that would still pass the limit (headers, JSON escapes)
 * becomes the gateway's 502 `RESPONSE_TOO_LARGE` instead of a platform error.
 */
class LambdaApp {
  readonly #app: Hono;
  readonly #handle: LambdaHandle;
  /** Each invocation's access log line, written once its result is settled. */
  readonly #records = new WeakMap<LambdaEvent, AccessRecord>();

  constructor(app: Hono) {
    this.#app = app;
    const bounded = new Hono<{ Bindings: LambdaBindings }>().all('*', async (c) => {
      const response = await app.fetch(c.req.raw, c.env);
      const record = accessRecordOf(response);
      if (record) this.#records.set(c.env.event, record);
      const requestId = response.headers.get('x-request-id');
      try {
        const read = await readWithin(response, bodyBudget(response.headers, resultLimitOf(c.env.event)));
        return read ?? tooLarge(c.env.event, requestId);
      } catch {
        // Nothing of the answer has gone out yet, so the gateway can still say what happened.
        return ownError('UPSTREAM_UNREACHABLE', 'the instance broke off its answer', c.env.event, requestId);
      }
    });
    this.#handle = handle(bounded);
  }

  serves(app: Hono): boolean {
    return this.#app === app;
  }

  async invoke(event: LambdaEvent, context: LambdaContext): Promise<APIGatewayProxyResult> {
    let result = await this.#handle(event, context);
    if (resultBytes(result) > resultLimitOf(event)) {
      const requestId = result.headers?.['x-request-id'] ?? result.multiValueHeaders?.['x-request-id']?.[0];
      result = await answer(tooLarge(event, typeof requestId === 'string' ? requestId : null), event, context);
    }
    this.#records.get(event)?.sent(result.statusCode, Buffer.byteLength(result.body, result.isBase64Encoded ? 'base64' : 'utf8'));
    return result;
  }
}

let current: LambdaApp | undefined;

/**
 * The AWS Lambda handler for API Gateway v1 and v2, ALB and Function URL
 * events. The gateway (and its snapshots) lives in module scope, so warm
 * invocations reuse it.
 *
 * @example
 * // The function's own module, with ETCD_ENDPOINTS in its environment:
 * export { handler } from 'etcd-edge/lambda';
 */
export async function handler(event: unknown, context: unknown): Promise<unknown> {
  // A copy, not `process.env` itself: that object never changes identity, so the
  // gateway could not tell that its content did (it compares by content otherwise).
  const gateway = gateways.for({ ...process.env } as Env);
  const joined = withJoinedFields(event as LambdaEvent);
  if (gateway instanceof Response) return answer(gateway, joined, context as LambdaContext);
  if (!current?.serves(gateway.app)) current = new LambdaApp(gateway.app);
  return current.invoke(joined, context as LambdaContext);
}

/** A response of the gateway's own, through Hono's adapter so the result has the shape the event's source expects. */
function answer(response: Response, event: LambdaEvent, context: LambdaContext): Promise<APIGatewayProxyResult> {
  return handle(new Hono().all('*', () => response))(event, context);
}

function tooLarge(event: LambdaEvent, requestId: string | null): Response {
  return ownError('RESPONSE_TOO_LARGE', 'the instance answered more than Lambda can return', event, requestId);
}

/** The gateway's own error for a proxied request, naming the service its path names. */
function ownError(code: GatewayErrorCode, message: string, event: LambdaEvent, requestId: string | null): Response {
  return errorResponse(code, message, {
    service: /^\/svc\/([\w.-]{1,128})(?:\/|$)/.exec(pathOf(event) ?? '')?.[1],
    requestId: requestId ?? undefined,
  });
}

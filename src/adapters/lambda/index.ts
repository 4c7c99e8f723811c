import { Hono, type Context } from 'hono';
import { getConnInfo, handle } from 'hono/aws-lambda';
import { FetchUpstream, type Env } from '../../gateway/index.js';
import { EnvGateway } from '../from-env.js';

type LambdaBindings = { event: { rawPath?: string; path?: string } };

const gateways = new EnvGateway(
  (env) => ({ watch: false, watchable: false, ipLiterals: 'allow', zone: typeof env.AWS_REGION === 'string' ? env.AWS_REGION : undefined }),
  {
    // The event's source IP (API Gateway v1/v2, Function URL); for ALB the last X-Forwarded-For entry, which ALB appends.
    clientIp: (c: Context) => getConnInfo(c).remote.address,
    rawPath: (c: Context) => {
      const event = (c.env as LambdaBindings | undefined)?.event;
      return event?.rawPath ?? event?.path;
    },
  },
  // Node's fetch decompresses bodies and keeps Content-Encoding: drop it so the Lambda result is what it says.
  () => new FetchUpstream(undefined, { decodes: true }),
);

let handler_: ((event: never, context: never) => Promise<unknown>) | undefined;
let handlerApp: Hono | undefined;

/**
 * The AWS Lambda handler for API Gateway v1 and v2, ALB and Function URL
 * events. The gateway (and its snapshots) lives in module scope, so warm
 * invocations reuse it.
 */
export async function handler(event: unknown, context: unknown): Promise<unknown> {
  // A copy, not `process.env` itself: that object never changes identity, so the
  // gateway could not tell that its content did (it compares by content otherwise).
  const gateway = gateways.for({ ...process.env } as Env);
  if (gateway instanceof Response) {
    // Through Hono's adapter too, so the result has the shape this event source expects (e.g. `multiValueHeaders`).
    const misconfigured = new Hono().all('*', () => gateway);
    return (handle(misconfigured) as unknown as NonNullable<typeof handler_>)(event as never, context as never);
  }
  if (handlerApp !== gateway.app) {
    handlerApp = gateway.app;
    handler_ = handle(gateway.app) as unknown as typeof handler_;
  }
  return handler_!(event as never, context as never);
}

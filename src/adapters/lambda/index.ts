import type { Context, Hono } from 'hono';
import { getConnInfo, handle } from 'hono/aws-lambda';
import type { Env } from '../../gateway/index.js';
import { EnvGateway } from '../from-env.js';

type LambdaBindings = { event: { rawPath?: string; path?: string } };

const gateways = new EnvGateway(
  (env) => ({ watch: false, ipLiterals: 'allow', zone: typeof env.AWS_REGION === 'string' ? env.AWS_REGION : undefined }),
  {
    // The event's source IP (API Gateway v1/v2, Function URL); for ALB the last X-Forwarded-For entry, which ALB appends.
    clientIp: (c: Context) => getConnInfo(c).remote.address,
    rawPath: (c: Context) => {
      const event = (c.env as LambdaBindings | undefined)?.event;
      return event?.rawPath ?? event?.path;
    },
  },
);

let handler_: ((event: never, context: never) => Promise<unknown>) | undefined;
let handlerApp: Hono | undefined;

/**
 * The AWS Lambda handler for API Gateway v1 and v2, ALB and Function URL
 * events. The gateway (and its snapshots) lives in module scope, so warm
 * invocations reuse it.
 */
export async function handler(event: unknown, context: unknown): Promise<unknown> {
  const gateway = gateways.for(process.env as Env);
  if (gateway instanceof Response) {
    const body = await gateway.text();
    return { statusCode: gateway.status, headers: Object.fromEntries(gateway.headers), body, isBase64Encoded: false };
  }
  if (handlerApp !== gateway.app) {
    handlerApp = gateway.app;
    handler_ = handle(gateway.app) as unknown as typeof handler_;
  }
  return handler_!(event as never, context as never);
}

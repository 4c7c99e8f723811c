import type { Context } from 'hono';
import { getConnInfo, type LambdaEvent } from 'hono/aws-lambda';
import { AddressPolicy, SweptDeadlines, type Env, type GatewayConfig, type RuntimeDefaults } from '../../gateway/index.js';
import type { RuntimeHooks } from '../../http/index.js';
import { EnvGateway } from '../from-env.js';
import { guardedLookup } from '../node/guarded-lookup.js';
import { UndiciUpstream } from '../node/undici-upstream.js';

/** What `hono/aws-lambda` hands the app beside the request, in both its buffered and its streaming adapter. */
export type LambdaBindings = { event: LambdaEvent };

/** What an event tells about its request, as `hono/aws-lambda` passes it. */
export const lambdaHooks: RuntimeHooks = {
  // The event's source IP (API Gateway v1/v2, Function URL); for ALB the last X-Forwarded-For entry, which ALB appends.
  clientIp: (c: Context) => getConnInfo(c).remote.address,
  rawPath: (c: Context) => pathOf((c.env as LambdaBindings | undefined)?.event),
};

/**
 * The one gateway of this Lambda environment, shared by `handler` and
 * `streamHandler`, built from `process.env` on first use and kept across warm
 * invocations with its snapshots and instance connections.
 */
export const gateways = new EnvGateway(
  lambdaDefaults,
  {
    ...lambdaHooks,
    // Each handler writes the access log line once it knows what went out: the buffered
    // one may still replace an answer with RESPONSE_TOO_LARGE, the streaming one counts
    // the bytes it streamed.
    logsAnswers: true,
  },
  instanceUpstream,
  () => ({ deadlines: new SweptDeadlines() }),
);

/** What Lambda allows before the environment speaks: no watch (nothing may outlive an invocation), the region as zone. */
export function lambdaDefaults(env: Env): RuntimeDefaults {
  return { watch: false, watchable: false, ipLiterals: 'allow', zone: typeof env.AWS_REGION === 'string' ? env.AWS_REGION : undefined };
}


/**
 * Lambda runs on Node, so instances are reached as on Node: undici's pooled
 * connections (kept across warm invocations), what a hostname resolves to
 * checked against the address policy, and answers passed on as they came. A
 * gzip body stays gzip with its `Content-Encoding`, and so goes back base64;
 * `fetch` would have decoded it.
 */
export function instanceUpstream(config: GatewayConfig): UndiciUpstream {
  const policy = new AddressPolicy(config.addresses);
  return new UndiciUpstream({ connectTimeoutMs: config.retry.connectTimeoutMs, lookup: guardedLookup((address) => policy.checkResolved(address)) });
}

/** The path as the event gives it (v2's `rawPath`, v1's and ALB's `path`), before a URL parser resolves anything in it. */
export function pathOf(event: LambdaEvent | undefined): string | undefined {
  const fields = event as { rawPath?: string; path?: string } | undefined;
  return fields?.rawPath ?? fields?.path;
}

import type { Context } from 'hono';
import { validIp } from '../gateway/index.js';

/** What a runtime tells the gateway about a request beyond the `Request` itself. */
export interface RuntimeHooks {
  /** The client's address as the runtime knows it (socket peer, `cf-connecting-ip`, Lambda source IP). */
  clientIp(c: Context): string | undefined;
  /** The edge's zone for this request (a Worker's colo); the configured zone otherwise. */
  zone?(c: Context): string | undefined;
  /** The request-target as received, before the runtime normalized it, to refuse dot segments. */
  rawPath?(c: Context): string | undefined;
  /** Keeps background work alive after the response (a Worker's `ctx.waitUntil`). */
  waitUntil?(c: Context): ((promise: Promise<unknown>) => void) | undefined;
  /**
   * Whether `request.signal` aborts when the client goes away (default true).
   * False where the runtime ends the request's subrequests itself and the
   * signal never fires (Workers without `enable_request_signal`): no
   * listener is then added per request.
   */
  clientSignal?: boolean;
  /**
   * The runtime may still replace the answer (Lambda's result limit), so it
   * writes each request's access log line itself, from `accessRecordOf`.
   */
  logsAnswers?: boolean;
}

/** The client's address if the runtime gave a real IP literal (never a forged header). */
export function clientIpOf(hooks: RuntimeHooks, c: Context): string | undefined {
  return validIp(hooks.clientIp(c));
}

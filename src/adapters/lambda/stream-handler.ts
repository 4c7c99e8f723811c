import type { Writable } from 'node:stream';
import { Hono } from 'hono';
import { streamHandle, type LambdaEvent } from 'hono/aws-lambda';
import type { AccessRecord, Env } from '../../gateway/index.js';
import { accessRecordOf } from '../../http/index.js';
import { withJoinedFields } from './event-fields.js';
import { gateways, type LambdaBindings } from './gateway.js';

/** A handler that Lambda's Node.js runtime streams: it writes the answer to `responseStream` as the answer arrives. */
export type StreamingHandler = (event: unknown, responseStream: Writable, context: unknown) => Promise<void>;

/** The part of the `awslambda` global (set by Lambda's Node.js runtime before it loads the function) that marks a handler as streaming. */
interface LambdaRuntime {
  streamifyResponse(handler: StreamingHandler): StreamingHandler;
}

/** Each invocation's answer on its way out, by the event `hono/aws-lambda` passed to the app. */
const deliveries = new WeakMap<LambdaEvent, Delivery>();

const streamed = new Hono<{ Bindings: LambdaBindings }>().all('*', async (c) => {
  // A copy, not `process.env` itself: see `handler`.
  const gateway = gateways.for({ ...process.env } as Env);
  if (gateway instanceof Response) return gateway;
  const response = await gateway.app.fetch(c.req.raw, c.env);
  const delivery = new Delivery(response, accessRecordOf(response));
  deliveries.set(c.env.event, delivery);
  return delivery.response;
});

let handle: StreamingHandler | undefined;

/**
 * The AWS Lambda handler that streams answers (response streaming) for
 * Function URLs with `InvokeMode: RESPONSE_STREAM` and API Gateway REST
 * integrations with `responseTransferMode: STREAM`: bytes go out as the
 * instance sends them, so server-sent events arrive one by one and a download
 * may pass the 6 MB a buffered result holds. The gateway is the one `handler`
 * uses, with the same configuration and snapshots. An error before the first
 * byte is the gateway's JSON error; an instance that breaks off mid-body cuts
 * the stream, and the access log line says `incomplete`.
 *
 * @example
 * // The function's own module (handler `index.streamHandler`), with ETCD_ENDPOINTS in its environment:
 * export { streamHandler } from 'etcd-edge/lambda';
 */
export const streamHandler: StreamingHandler = streamable(async (event, responseStream, context) => {
  const joined = withJoinedFields(event as LambdaEvent);
  // Made on first use: `streamHandle` needs the runtime's `awslambda` global, which a module loaded elsewhere lacks.
  handle ??= streamHandle(streamed) as unknown as StreamingHandler;
  try {
    await handle(joined, responseStream, context);
  } finally {
    // `hono/aws-lambda` gives up on a body whose stream failed without telling the body: the answer was cut.
    deliveries.get(joined)?.end(false);
  }
});

/**
 * The handler marked as streaming, the way Lambda's Node.js runtime looks for
 * it when it loads the function. Outside that runtime (Node, tests, a bundler
 * evaluating the module) there is no `awslambda` global: the handler is left
 * unmarked, and the module still loads for the buffered `handler` beside it.
 */
function streamable(handler: StreamingHandler): StreamingHandler {
  const runtime = (globalThis as { awslambda?: LambdaRuntime }).awslambda;
  return runtime ? runtime.streamifyResponse(handler) : handler;
}

/**
 * One answer on its way to the response stream. It counts the body bytes
 * handed on and writes the access log line once, when the body ends or is
 * cut. A body that ends without a byte still yields one empty chunk: Lambda's
 * runtime sends the status and fields (its metadata prelude) on the stream's
 * first write, and `hono/aws-lambda` writes nothing for an empty body.
 */
class Delivery {
  readonly response: Response;
  readonly #status: number;
  readonly #record: AccessRecord | undefined;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #bytes = 0;
  #over = false;

  constructor(response: Response, record: AccessRecord | undefined) {
    this.#status = response.status;
    this.#record = record;
    if (response.body === null) {
      // `hono/aws-lambda` writes "" for a response without a body, which sends the prelude.
      this.response = response;
      this.end(true);
      return;
    }
    this.#reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({ pull: (controller) => this.#pull(controller), cancel: () => this.end(false) }, { highWaterMark: 0 });
    this.response = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  }

  /** The answer is over: the access log line is written (once), and a body not read to its end lets go of the instance. */
  end(complete: boolean): void {
    if (this.#over) return;
    this.#over = true;
    this.#record?.sent(this.#status, this.#bytes, complete);
    if (!complete) this.#reader?.cancel().catch(() => undefined);
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    try {
      const { done, value } = await this.#reader!.read();
      if (!done) {
        this.#bytes += value.byteLength;
        return controller.enqueue(value);
      }
      if (this.#bytes === 0) controller.enqueue(new Uint8Array(0));
      controller.close();
      this.end(true);
    } catch (error) {
      this.end(false);
      controller.error(error);
    }
  }
}

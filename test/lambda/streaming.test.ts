// The runtime's `awslambda` global first: `streamHandler` is marked as streaming when its module loads.
import { invokeStreaming, STREAMING, type Streamed } from './streaming-runtime.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { streamHandler } from '../../src/adapters/lambda/index.js';
import { EtcdClient, nativeLayout } from '../../src/index.js';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { until } from '../support/until.js';
import { Answers, EVENT_GAP_MS } from './answers.js';
import { LambdaEnv, recorded, type Event, type Shape } from './harness.js';

const SERVICE = 'lambda-streamed';
/** Over the 6 MiB a buffered result can hold. */
const LARGE = 8 * 1024 * 1024;

const context = { awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef', functionName: 'etcd-edge', getRemainingTimeInMillis: () => 30_000 };

/** A recorded event turned into a bodiless GET of `path` under the service. */
function get(shape: Shape, service: string, path: string): Event {
  const event = recorded(shape, service);
  delete event.body;
  delete (event.headers as Record<string, string>)['content-length'];
  if (shape === 'apigw-v2-http' || shape === 'function-url') {
    event.rawPath = `/svc/${service}${path}`;
    event.requestContext.http!.method = 'GET';
  } else {
    event.path = `/svc/${service}${path}`;
    event.httpMethod = 'GET';
  }
  return event;
}

const stream = (event: Event): Promise<Streamed> => invokeStreaming(streamHandler, event, context);

interface AccessLine {
  requestId: string;
  status: number;
  bytes: number;
  incomplete?: true;
}

describe('lambda streamHandler: answers streamed as they arrive (response streaming)', () => {
  let cluster: EtcdCluster;
  let answers: Answers;
  let env: LambdaEnv | undefined;

  beforeAll(async () => {
    [cluster, answers] = await Promise.all([startEtcd(), Answers.start()]);
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const { id } = await etcd.leaseGrant(120);
    const record = nativeLayout().encode({ service: SERVICE, url: answers.url, weight: 1 });
    await etcd.put(record.key, record.value, { lease: id });
    env = new LambdaEnv(cluster.endpoints);
  }, 60_000);

  afterAll(async () => {
    env?.restore();
    await answers?.close();
    await cluster?.close();
  });

  /** Runs `body` with the access log on, and gives back the lines written meanwhile. */
  async function logged(body: () => Promise<void>): Promise<AccessLine[]> {
    env!.set('ETCD_EDGE_ACCESS_LOG', 'stdout');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await body();
      return log.mock.calls.map(([line]) => JSON.parse(String(line)) as AccessLine);
    } finally {
      log.mockRestore();
      env!.set('ETCD_EDGE_ACCESS_LOG', undefined);
    }
  }

  it('is marked as a streaming handler by the runtime\'s awslambda.streamifyResponse', () => {
    expect((streamHandler as unknown as Record<symbol, unknown>)[STREAMING]).toBe('response');
  });

  it('server-sent events reach the stream one by one: the first before the instance has sent the last', async () => {
    const result = await stream(get('function-url', SERVICE, '/events/3'));
    expect(result.prelude).toMatchObject({ statusCode: 200, headers: { 'content-type': 'text/event-stream' } });
    const text = result.body.toString('utf8');
    expect(text).toBe('id: 0\ndata: event 0\n\nid: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\n');
    const arrival = (n: number) => result.chunks.find((chunk) => chunk.bytes.includes(`event ${n}`))!.at;
    // Each event reached the stream on its own, in order, about one gap after the one before:
    // the first was out while the instance still had two to send.
    expect(arrival(0)).toBeLessThan(arrival(1));
    expect(arrival(1)).toBeLessThan(arrival(2));
    expect(arrival(2) - arrival(0)).toBeGreaterThanOrEqual(EVENT_GAP_MS);
    expect(arrival(0)).toBeLessThan(answers.eventsEndedAt);
  });

  it('a body over the buffered 6 MB limit streams through whole, where the buffered handler answers 502', async () => {
    const lines = await logged(async () => {
      const result = await stream(get('function-url', SERVICE, `/unsized/${LARGE}`));
      expect(result.prelude?.statusCode).toBe(200);
      expect(result.body.length).toBe(LARGE);
      // Not toEqual: vitest compares megabytes byte by byte for tens of seconds.
      expect(result.body.equals(Buffer.alloc(LARGE, 'x'))).toBe(true);
      expect(result.chunks.length).toBeGreaterThan(1);
    });
    expect(lines).toEqual([expect.objectContaining({ status: 200, bytes: LARGE })]);
    expect(lines[0]).not.toHaveProperty('incomplete');
  });

  it('no instance: the gateway\'s JSON 503 before any byte, and its access log line', async () => {
    let result: Streamed | undefined;
    const lines = await logged(async () => {
      result = await stream(get('apigw-v2-http', 'lambda-nobody', '/'));
    });
    expect(result!.prelude).toMatchObject({ statusCode: 503, headers: { 'content-type': expect.stringMatching(/^application\/json/) } });
    expect(JSON.parse(result!.body.toString('utf8'))).toEqual({ error: { code: 'NO_INSTANCES', message: expect.any(String), service: 'lambda-nobody' } });
    const requestId = result!.prelude!.headers['x-request-id'];
    expect(lines).toEqual([expect.objectContaining({ requestId, status: 503, bytes: result!.body.length })]);
  });

  it('the access log line says what was streamed: the bytes of a whole answer, and an answer cut off mid-body as incomplete', async () => {
    let whole: Streamed | undefined;
    let cut: Streamed | undefined;
    const failed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const lines = await logged(async () => {
      whole = await stream(get('apigw-v1-rest', SERVICE, '/quotes/1000'));
      cut = await stream(get('function-url', SERVICE, '/broken'));
    }).finally(() => failed.mockRestore());
    const lineOf = (result: Streamed) => lines.filter((line) => line.requestId === result.prelude?.headers['x-request-id']);
    expect(whole!.body.toString('utf8')).toBe('"'.repeat(1000));
    expect(lineOf(whole!)).toEqual([expect.objectContaining({ status: 200, bytes: 1000 })]);
    expect(lineOf(whole!)[0]).not.toHaveProperty('incomplete');
    // The status had gone out with the first bytes, so the answer can only stop short.
    expect(cut!.prelude?.statusCode).toBe(200);
    expect(cut!.body.length).toBeLessThan(256 * 1024 + 1);
    expect(lineOf(cut!)).toEqual([expect.objectContaining({ status: 200, bytes: expect.any(Number), incomplete: true })]);
    expect(lineOf(cut!)[0]!.bytes).toBeLessThanOrEqual(256 * 1024);
  });

  it('a response stream that breaks mid-body: logged as incomplete with what went out, and the instance let go', async () => {
    const before = answers.abandoned;
    const failed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    let result: Streamed | undefined;
    const lines = await logged(async () => {
      result = await invokeStreaming(streamHandler, get('function-url', SERVICE, `/unsized/${LARGE}`), context, 1024 * 1024);
    }).finally(() => failed.mockRestore());
    expect(result!.body.length).toBeLessThan(LARGE);
    expect(lines).toEqual([expect.objectContaining({ status: 200, incomplete: true })]);
    expect(lines[0]!.bytes).toBeGreaterThanOrEqual(result!.body.length);
    expect(lines[0]!.bytes).toBeLessThan(LARGE);
    await until(() => answers.abandoned > before, 5_000);
  });

  it('an answer that ends before its first byte still sends its status and fields', async () => {
    const result = await stream(get('function-url', SERVICE, '/empty'));
    expect(result.prelude).toMatchObject({ statusCode: 200, headers: { 'x-empty': 'yes' } });
    expect(result.body.length).toBe(0);
  });
});

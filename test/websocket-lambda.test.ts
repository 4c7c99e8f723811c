import { afterAll, describe, expect, it } from 'vitest';
import { invoke, LambdaEnv, recorded } from './lambda/harness.js';

/** API Gateway WebSocket APIs are another model (routes per message, a connection id): the Lambda handler refuses an upgrade plainly. */
describe('WebSocket on Lambda', () => {
  // Refused while checking the request, before any lookup: no etcd is needed to answer.
  const env = new LambdaEnv(['http://127.0.0.1:2379']);

  afterAll(() => env.restore());

  it('answers an upgrade with 501 NOT_IMPLEMENTED in the usual JSON', async () => {
    const event = recorded('apigw-v2-http', 'chat');
    event.requestContext.http!.method = 'GET';
    delete event.body;
    event.headers = { ...(event.headers as Record<string, string>), upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };
    const result = await invoke(event);
    expect(result.statusCode).toBe(501);
    const body = JSON.parse(result.body) as { error: { code: string; message: string; service: string } };
    expect(body.error).toMatchObject({ code: 'NOT_IMPLEMENTED', service: 'chat' });
    expect(body.error.message).toContain('WebSocket');
  });
});

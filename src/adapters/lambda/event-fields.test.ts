import type { LambdaEvent } from 'hono/aws-lambda';
import { describe, expect, it } from 'vitest';
import { withJoinedFields } from './event-fields.js';

const alb = (multiValueHeaders: Record<string, string[] | undefined>) =>
  ({ requestContext: { elb: { targetGroupArn: 'arn' } }, httpMethod: 'GET', path: '/svc/a/', multiValueHeaders }) as unknown as LambdaEvent;

const fieldsOf = (event: LambdaEvent) => (event as { multiValueHeaders?: Record<string, string[]> }).multiValueHeaders;

describe('withJoinedFields', () => {
  it('joins repeated values with ", " and cookies with "; ", one value a name', () => {
    const joined = withJoinedFields(alb({ accept: ['a/b', 'c/d'], cookie: ['a=1', 'b=2'], host: ['gw'] }));
    expect(fieldsOf(joined)).toEqual({ accept: ['a/b, c/d'], cookie: ['a=1; b=2'], host: ['gw'] });
  });

  it('makes names that differ in case one field, in the order they came, and drops names with no value', () => {
    const joined = withJoinedFields(alb({ 'X-Trace': ['1'], 'x-trace': ['2', '3'], Cookie: ['a=1'], cookie: ['b=2'], empty: [], missing: undefined }));
    expect(fieldsOf(joined)).toEqual({ 'x-trace': ['1, 2, 3'], cookie: ['a=1; b=2'] });
  });

  it('leaves the event it was given as it was, and an event without multi-value fields as it is', () => {
    const event = alb({ accept: ['a/b', 'c/d'] });
    expect(withJoinedFields(event)).not.toBe(event);
    expect(fieldsOf(event)).toEqual({ accept: ['a/b', 'c/d'] });
    const v2 = { version: '2.0', rawPath: '/svc/a/', headers: { accept: 'a/b' }, requestContext: { http: { method: 'GET' } } } as unknown as LambdaEvent;
    expect(withJoinedFields(v2)).toBe(v2);
  });
});

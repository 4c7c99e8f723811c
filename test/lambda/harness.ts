import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { handler } from '../../src/adapters/lambda/index.js';
import type { Echo } from '../support/backend.js';

export const LAMBDA_DIR = import.meta.dirname;

/** Variables the gateway reads that a developer's shell may hold; never inherited by the gateway under test. */
export const INHERITED = (name: string): boolean => name.startsWith('ETCD_') || name === 'ADMIN_TOKEN';

/** What the handler returns (API Gateway v1/v2, ALB and Function URL results). */
export interface LambdaResult {
  statusCode: number;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  cookies?: string[];
  body: string;
  isBase64Encoded: boolean;
}

export type Shape = 'apigw-v1-rest' | 'apigw-v2-http' | 'alb' | 'function-url';
export type Event = Record<string, unknown> & { requestContext: Record<string, unknown> & { http?: Record<string, unknown> } };

/** A recorded event with `__SERVICE__` replaced by the service name. */
export function recorded(shape: Shape, service: string): Event {
  return JSON.parse(readFileSync(join(LAMBDA_DIR, 'events', `${shape}.json`), 'utf8').replaceAll('__SERVICE__', service)) as Event;
}

const context = {
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  functionName: 'etcd-edge',
  getRemainingTimeInMillis: () => 30_000,
};

export async function invoke(event: Event): Promise<LambdaResult> {
  return (await handler(event, context)) as LambdaResult;
}

export function header(result: LambdaResult, name: string): string | undefined {
  return result.headers?.[name] ?? result.multiValueHeaders?.[name]?.join(', ');
}

export function echoOf(result: LambdaResult): Echo {
  expect(result.statusCode, result.body).toBe(200);
  expect(result.isBase64Encoded).toBe(false);
  return JSON.parse(result.body) as Echo;
}

/**
 * `process.env` for the in-process handler: the developer's etcd variables
 * cleared, loopback instances allowed (the test backends live there), and
 * everything as it was after `restore`.
 */
export class LambdaEnv {
  readonly #saved = new Map<string, string | undefined>();

  constructor(endpoints: readonly string[]) {
    for (const name of Object.keys(process.env)) if (INHERITED(name)) this.set(name, undefined);
    this.set('ETCD_ENDPOINTS', endpoints.join(','));
    this.set('ETCD_EDGE_ALLOW_LOOPBACK', 'true');
  }

  /** Sets (or with `undefined`, removes) a variable, remembering the original. */
  set(name: string, value: string | undefined): void {
    if (!this.#saved.has(name)) this.#saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }

  restore(): void {
    for (const [name, value] of this.#saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    this.#saved.clear();
  }
}

import { describe, expect, it } from 'vitest';
import { grpcMessage, grpcStatusOf, grpcTarget, grpcTimeoutMs, grpcUnavailable, isGrpcContentType } from './grpc.js';
import { TrailerFeed } from './upstream.js';

describe('gRPC in the core', () => {
  it('tells gRPC content types from gRPC-Web and others', () => {
    for (const type of ['application/grpc', 'application/grpc+proto', 'application/grpc;charset=utf-8']) expect(isGrpcContentType(type)).toBe(true);
    for (const type of [undefined, 'application/grpc-web', 'application/grpc-web+proto', 'application/grpcx', 'application/json']) expect(isGrpcContentType(type)).toBe(false);
  });

  it('routes /{pkg.Service}/{Method}: x-edge-service, then ETCD_EDGE_GRPC_SERVICES, then pkg.Service', () => {
    const services = { 'shop.Orders': 'orders' };
    expect(grpcTarget('/shop.Orders/Get', [], services)).toEqual({ ok: true, service: 'orders', path: '/shop.Orders/Get' });
    expect(grpcTarget('/shop.Orders/Get', ['x-edge-service', 'other'], services)).toEqual({ ok: true, service: 'other', path: '/shop.Orders/Get' });
    expect(grpcTarget('/shop.Carts/Get', [], services)).toEqual({ ok: true, service: 'shop.Carts', path: '/shop.Carts/Get' });
    for (const path of ['/shop.Orders', '/shop.Orders/Get/x', '/../Get', '/shop..Orders/Get']) expect(grpcTarget(path, [], services).ok).toBe(false);
    expect(grpcTarget('/shop.Orders/Get', ['x-edge-service', 'a/b'], services).ok).toBe(false);
  });

  it('reads grpc-timeout in each unit, NaN when malformed', () => {
    expect(grpcTimeoutMs([])).toBeUndefined();
    expect(grpcTimeoutMs(['grpc-timeout', '2S'])).toBe(2_000);
    expect(grpcTimeoutMs(['grpc-timeout', '1500m'])).toBe(1_500);
    expect(grpcTimeoutMs(['grpc-timeout', '1H'])).toBe(3_600_000);
    expect(grpcTimeoutMs(['grpc-timeout', '999u'])).toBe(1);
    expect(grpcTimeoutMs(['grpc-timeout', '123456789S'])).toBeNaN();
    expect(grpcTimeoutMs(['grpc-timeout', '5s'])).toBeNaN();
  });

  it('retries only a trailers-only UNAVAILABLE; maps its own errors to statuses; percent-encodes messages', () => {
    const trailers = new TrailerFeed();
    trailers.arrived(['grpc-status', '14']);
    expect(grpcUnavailable({ status: 200, headers: [], body: null, trailers })).toBe(true);
    expect(grpcUnavailable({ status: 200, headers: [], body: new Uint8Array(5), trailers })).toBe(false);
    expect(grpcUnavailable({ status: 503, headers: [], body: null })).toBe(false);
    expect([grpcStatusOf('NO_INSTANCES'), grpcStatusOf('UPSTREAM_TIMEOUT'), grpcStatusOf('PAYLOAD_TOO_LARGE')]).toEqual([14, 4, 8]);
    expect(grpcMessage('100% sûr\n')).toBe('100%25 s%C3%BBr%0A');
  });

  it('tells trailers to a listener that comes late, once', () => {
    const feed = new TrailerFeed();
    feed.arrived(['grpc-status', '0']);
    feed.arrived(['grpc-status', '2']);
    const told: string[][] = [];
    feed.listen((fields) => told.push(fields));
    expect(told).toEqual([['grpc-status', '0']]);
  });
});

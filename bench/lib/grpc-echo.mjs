// The tests' gRPC service (test/support/grpc/echo.proto), loaded for the
// benchmark's instance and load generator alike.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = new URL('../../test/support/grpc/echo.proto', import.meta.url).pathname;

/** The client constructor of `edge.test.Echo`. */
export function echoClient() {
  const definition = protoLoader.loadSync(PROTO, { keepCase: true, defaults: true });
  return grpc.loadPackageDefinition(definition).edge.test.Echo;
}

/** `edge.test.Echo`'s service definition, for a server. */
export const echoService = () => echoClient().service;

/** The registry service a gateway routes `/edge.test.Echo/Unary` to. */
export const ECHO_SERVICE = 'edge.test.Echo';

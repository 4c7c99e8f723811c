// The gRPC instance of bench/grpc.mjs: grpc-js serving the tests' edge.test.Echo
// (test/support/grpc/echo.proto); Unary answers with the request's text.
//   PORT=… node bench/instances/grpc-echo.mjs
import * as grpc from '@grpc/grpc-js';
import { echoService } from '../lib/grpc-echo.mjs';

const server = new grpc.Server();
server.addService(echoService(), {
  Unary: (call, callback) => callback(null, { text: call.request.text }),
});
server.bindAsync(`127.0.0.1:${process.env.PORT}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
});

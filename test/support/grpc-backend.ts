import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The test proto's messages, as proto-loader gives them. */
export interface EchoMessage {
  text?: string;
  count?: number;
  instance?: string;
  seen?: Record<string, string>;
}

const definition = protoLoader.loadSync(join(import.meta.dirname, 'grpc', 'echo.proto'), { keepCase: true, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { edge: { test: { Echo: grpc.ServiceClientConstructor } } };
/** The client constructor of `edge.test.Echo`; its `service` holds each method's path and codecs. */
export const EchoClient = loaded.edge.test.Echo;

/** Metadata the instance reports back, to show what the gateway sent on. */
const REPORTED = ['x-forwarded-for', 'x-forwarded-host', 'via', 'x-edge-service', 'grpc-timeout'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function seenOf(metadata: grpc.Metadata): Record<string, string> {
  const seen: Record<string, string> = {};
  for (const name of REPORTED) {
    const value = metadata.get(name)[0];
    if (value !== undefined) seen[name] = String(value);
  }
  return seen;
}

/**
 * A real gRPC server (grpc-js) on loopback implementing `edge.test.Echo`.
 * Unary: `fail` answers NOT_FOUND with a message, `sleep:MS` waits first.
 * ServerStream: `count` messages, or one every 50 ms until cancelled for `forever`.
 */
export class GrpcBackend {
  readonly name: string;
  readonly #server = new grpc.Server();
  port = 0;
  calls = 0;

  private constructor(name: string) {
    this.name = name;
    const instance = name;
    this.#server.addService(EchoClient.service, {
      Unary: (call: grpc.ServerUnaryCall<EchoMessage, EchoMessage>, callback: grpc.sendUnaryData<EchoMessage>) => {
        this.calls++;
        const { text = '' } = call.request;
        if (text === 'fail') return callback({ code: grpc.status.NOT_FOUND, details: 'no such thing, said the instance' });
        const wait = /^sleep:(\d+)$/.exec(text);
        void (wait ? sleep(Number(wait[1])) : Promise.resolve()).then(() => callback(null, { text, instance, seen: seenOf(call.metadata) }));
      },
      ServerStream: (call: grpc.ServerWritableStream<EchoMessage, EchoMessage>) => {
        this.calls++;
        const { text = '', count = 0 } = call.request;
        if (text === 'forever') {
          let i = 0;
          const timer = setInterval(() => call.write({ text: String(i++), instance }), 50);
          call.on('cancelled', () => clearInterval(timer));
          call.on('close', () => clearInterval(timer));
          return;
        }
        for (let i = 0; i < count; i++) call.write({ text: `${text}${i}`, instance });
        call.end();
      },
      ClientStream: (call: grpc.ServerReadableStream<EchoMessage, EchoMessage>, callback: grpc.sendUnaryData<EchoMessage>) => {
        this.calls++;
        const texts: string[] = [];
        call.on('data', (message: EchoMessage) => texts.push(message.text ?? ''));
        call.on('end', () => callback(null, { text: texts.join(','), count: texts.length, instance }));
      },
      Bidi: (call: grpc.ServerDuplexStream<EchoMessage, EchoMessage>) => {
        this.calls++;
        call.on('data', (message: EchoMessage) => call.write({ text: `echo:${message.text ?? ''}`, instance }));
        call.on('end', () => call.end());
      },
    });
  }

  static async start(name: string): Promise<GrpcBackend> {
    const backend = new GrpcBackend(name);
    backend.port = await new Promise<number>((resolve, reject) => {
      backend.#server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
    });
    return backend;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Dies like a killed process: every call and connection cut. */
  kill(): void {
    this.#server.forceShutdown();
  }
}

import { join } from 'node:path';
import { create, createFileRegistry, fromBinary, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import * as protoLoader from '@grpc/proto-loader';

/**
 * `edge.test.Echo` (test/support/grpc/echo.proto) as `@bufbuild/protobuf`
 * describes a service, for Connect's clients: built at run time from the
 * file descriptor that proto-loader compiles, so no generated code is kept.
 */
export function echoService(): DescService {
  const definition = protoLoader.loadSync(join(import.meta.dirname, 'grpc', 'echo.proto'), { keepCase: true });
  const message = definition['edge.test.Message'] as { fileDescriptorProtos: Buffer[] };
  const files = message.fileDescriptorProtos.map((bytes) => qualified(fromBinary(FileDescriptorProtoSchema, bytes)));
  const service = createFileRegistry(create(FileDescriptorSetSchema, { file: files })).getService('edge.test.Echo');
  if (!service) throw new Error('edge.test.Echo is not in echo.proto');
  return service;
}

/** protobufjs names a field's or method's type relative to where it is (`Seen`); descriptors name it in full (`.edge.test.Message.Seen`). */
function qualified(file: FileDescriptorProto): FileDescriptorProto {
  const full = (name: string, scope: string): string => (name === '' || name.startsWith('.') ? name : `.${scope}.${name}`);
  for (const message of file.messageType) {
    const nested = new Set(message.nestedType.map((type) => type.name));
    for (const field of message.field) field.typeName = full(field.typeName, nested.has(field.typeName) ? `${file.package}.${message.name}` : file.package);
  }
  for (const service of file.service) {
    for (const method of service.method) {
      method.inputType = full(method.inputType, file.package);
      method.outputType = full(method.outputType, file.package);
    }
  }
  return file;
}

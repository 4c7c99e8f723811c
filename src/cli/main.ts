import { readFileSync } from 'node:fs';

const USAGE = `Usage: etcd-edge <command> [options]

Options:
  -h, --help     show this help
  -v, --version  print the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Where the CLI writes: process.stdout and process.stderr, or a test's buffer. */
export interface Output {
  write(text: string): unknown;
}

/** Runs the CLI with `argv` (without node and the script); returns the exit code. */
export function main(argv: readonly string[], out: Output = process.stdout, err: Output = process.stderr): number {
  const [command] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    out.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    out.write(`${version()}\n`);
    return 0;
  }
  err.write(`etcd-edge: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  return 2;
}

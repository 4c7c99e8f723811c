import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ConnectionFlags } from './connect.js';
import { UsageError } from './errors.js';

export interface Flags extends ConnectionFlags {
  weight?: string;
  tag?: string[];
  id?: string;
  ttl?: string;
  layout?: string;
  json?: boolean;
  port?: string;
  host?: string;
  strategy?: string;
  watch?: string;
  'cache-ttl'?: string;
  drain?: string;
  workers?: string;
  relay?: boolean;
  'admin-port'?: string;
  'admin-host'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  config?: string;
  help?: boolean;
  version?: boolean;
}

const CONNECTION = ['etcd', 'user', 'password', 'cacert', 'cert', 'key', 'prefix'] as const;
const COMMAND_FLAGS: Record<string, readonly string[]> = {
  register: ['weight', 'tag', 'id', 'ttl', 'layout'],
  deregister: ['layout'],
  ls: ['json', 'layout'],
  watch: ['layout'],
  serve: ['port', 'host', 'layout', 'strategy', 'watch', 'cache-ttl', 'drain', 'admin-port', 'admin-host', 'relay', 'tls-cert', 'tls-key', 'workers', 'config'],
  relay: ['port', 'host', 'layout', 'drain'],
};

const OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  ...Object.fromEntries(CONNECTION.map((name) => [name, { type: 'string' }] as const)),
  weight: { type: 'string' },
  tag: { type: 'string', multiple: true },
  id: { type: 'string' },
  ttl: { type: 'string' },
  layout: { type: 'string' },
  json: { type: 'boolean' },
  port: { type: 'string' },
  host: { type: 'string' },
  'admin-port': { type: 'string' },
  'admin-host': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  config: { type: 'string' },
  strategy: { type: 'string' },
  watch: { type: 'string' },
  'cache-ttl': { type: 'string' },
  drain: { type: 'string' },
  workers: { type: 'string' },
  relay: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
};

/** A value that reads as a negative number: never a flag, so `--weight -1` gives the flag its value. */
const NEGATIVE_NUMBER = /^-\.?\d/;

export const COMMANDS = Object.keys(COMMAND_FLAGS);

/** Parses argv into positionals and flags; unknown or misplaced flags are usage errors. */
export function parseCommandLine(argv: readonly string[]): { positionals: string[]; flags: Flags } {
  const args = withNegativeValues(argv);
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    throw parseFailure(error, args);
  }
  const [command] = parsed.positionals;
  const allowed = command === undefined ? undefined : COMMAND_FLAGS[command];
  if (allowed) {
    for (const name of Object.keys(parsed.values)) {
      if (!allowed.includes(name) && !(CONNECTION as readonly string[]).includes(name) && name !== 'help') {
        throw new UsageError(`--${name} is not an option of ${command}`);
      }
    }
  }
  return { positionals: parsed.positionals, flags: parsed.values as Flags };
}

/** `--weight -1` becomes `--weight=-1`, which parseArgs would otherwise call ambiguous. */
function withNegativeValues(argv: readonly string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return [...args, ...argv.slice(i)];
    const next = argv[i + 1];
    if (arg.startsWith('--') && OPTIONS[arg.slice(2)]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  return args;
}

/** parseArgs' error as one line in the CLI's words. */
function parseFailure(error: unknown, args: readonly string[]): UsageError {
  const { code, message } = error as { code?: string; message: string };
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return new UsageError(`unknown option ${option}`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option?.startsWith('--')) {
    if (OPTIONS[option.slice(2)]?.type === 'boolean') return new UsageError(`${option} takes no value`);
    const next = args[args.indexOf(option) + 1];
    const dashed = next?.startsWith('-') ? `; for a value that starts with "-", write ${option}=VALUE` : '';
    return new UsageError(`${option} needs a value${dashed}`);
  }
  return new UsageError(message.split('\n')[0]!);
}

/** Exactly `count` positionals after the command (up to `max`), named for the message. */
export function expectArgs(positionals: readonly string[], names: readonly string[], optional = 0): string[] {
  const args = positionals.slice(1);
  if (args.length < names.length - optional || args.length > names.length) {
    throw new UsageError(`${positionals[0]} takes ${names.map((n, i) => (i >= names.length - optional ? `[${n}]` : `<${n}>`)).join(' ')}`);
  }
  return args;
}

/** A number in `[min, max]` from a flag (a whole one when `integer`). */
export function numberFlag(value: string | undefined, flag: string, fallback: number, range: { min: number; max: number; integer?: boolean }): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const shape = range.integer ? /^\d+$/ : /^\d+(\.\d+)?$/;
  if (!shape.test(value) || n < range.min || n > range.max) {
    throw new UsageError(`--${flag} must be a ${range.integer ? 'whole ' : ''}number from ${range.min} to ${range.max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `k=v` pairs from repeated `--tag`. */
export function tagsFlag(values: readonly string[] = []): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag takes key=value, got ${JSON.stringify(pair)}`);
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return tags;
}

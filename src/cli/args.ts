import { parseArgs } from 'node:util';
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
  help?: boolean;
  version?: boolean;
}

const CONNECTION = ['etcd', 'user', 'password', 'cacert', 'cert', 'key', 'prefix'] as const;
const COMMAND_FLAGS: Record<string, readonly string[]> = {
  register: ['weight', 'tag', 'id', 'ttl', 'layout'],
  deregister: ['layout'],
  ls: ['json', 'layout'],
  watch: ['layout'],
  serve: ['port', 'host', 'layout', 'strategy', 'watch', 'cache-ttl', 'drain'],
};

export const COMMANDS = Object.keys(COMMAND_FLAGS);

/** Parses argv into positionals and flags; unknown or misplaced flags are usage errors. */
export function parseCommandLine(argv: readonly string[]): { positionals: string[]; flags: Flags } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(CONNECTION.map((name) => [name, { type: 'string' }] as const)),
        weight: { type: 'string' },
        tag: { type: 'string', multiple: true },
        id: { type: 'string' },
        ttl: { type: 'string' },
        layout: { type: 'string' },
        json: { type: 'boolean' },
        port: { type: 'string' },
        host: { type: 'string' },
        strategy: { type: 'string' },
        watch: { type: 'string' },
        'cache-ttl': { type: 'string' },
        drain: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const option = /'([^']+)'/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) throw new UsageError(`unknown option ${option}`);
    throw new UsageError(message.split('\n')[0]!);
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

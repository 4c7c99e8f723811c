/** The `Content-Type` of Prometheus text exposition. */
export const EXPOSITION_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Prometheus text exposition (format 0.0.4), written one family at a time:
 * the gateway's `/_edge/metrics` and the relay's `/metrics` share it.
 *
 * @example
 * const out = new Exposition();
 * out.family('etcd_edge_watches', 'gauge', 'Open etcd watch streams.').sample('etcd_edge_watches', 3);
 * return new Response(out.text(), { headers: { 'content-type': EXPOSITION_TYPE } });
 */
export class Exposition {
  readonly #lines: string[] = [];

  /** Starts a family: its `# HELP` and `# TYPE` lines. */
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** One sample; label values are escaped as the format asks. */
  sample(name: string, value: number, labels: Readonly<Record<string, string>> = {}): this {
    const pairs = Object.entries(labels).map(([label, text]) => `${label}="${text.replace(/[\\"\n]/g, (ch) => (ch === '\n' ? '\\n' : `\\${ch}`))}"`);
    this.#lines.push(`${name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${value}`);
    return this;
  }

  text(): string {
    return this.#lines.join('\n') + '\n';
  }
}

import { FakeStoreError } from './fake-store.js';

/** A decoded JSON request body of the fake, read field by field with gateway semantics. */
export class FakeBody {
  constructor(readonly json: Record<string, unknown>) {}

  static parse(text: string): FakeBody {
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new FakeStoreError(3, `invalid character in request body`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new FakeStoreError(3, 'request body must be a JSON object');
    }
    return new FakeBody(json as Record<string, unknown>);
  }

  child(name: string): FakeBody | undefined {
    const value = this.json[name];
    return typeof value === 'object' && value !== null ? new FakeBody(value as Record<string, unknown>) : undefined;
  }

  list(name: string): FakeBody[] {
    const value = this.json[name];
    return Array.isArray(value) ? value.map((v) => new FakeBody((v ?? {}) as Record<string, unknown>)) : [];
  }

  /** A base64 bytes field as a latin1 string ('' when absent). */
  bytes(name: string): string {
    const value = this.json[name];
    if (value === undefined || value === null || value === '') return '';
    if (typeof value !== 'string') throw new FakeStoreError(3, `${name} must be base64`);
    try {
      return atob(value);
    } catch {
      throw new FakeStoreError(3, `illegal base64 data in ${name}`);
    }
  }

  /** An int64 field, given as a string or a number (0 when absent). */
  int(name: string): number {
    const value = this.json[name];
    if (value === undefined || value === null) return 0;
    const n = Number(value);
    if (!Number.isFinite(n)) throw new FakeStoreError(3, `${name} must be an integer`);
    return n;
  }

  /** An int64 field kept as a decimal string ('0' when absent). */
  id(name: string): string {
    const value = this.json[name];
    return value === undefined || value === null ? '0' : String(value);
  }

  flag(name: string): boolean {
    return this.json[name] === true;
  }

  text(name: string): string {
    const value = this.json[name];
    return typeof value === 'string' ? value : '';
  }
}

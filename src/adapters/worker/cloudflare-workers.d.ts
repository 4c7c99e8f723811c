// The part of workerd's `cloudflare:workers` module the hub uses. Declared
// here rather than by loading @cloudflare/workers-types globally, whose
// Request, Response and fetch would replace the DOM ones the rest of the code
// is checked against.
declare module 'cloudflare:workers' {
  /** A Durable Object's storage: the key-value calls and the alarm. */
  export interface DurableObjectStorage {
    get<T>(key: string): Promise<T | undefined>;
    list<T>(options: { prefix: string }): Promise<Map<string, T>>;
    put<T>(key: string, value: T): Promise<void>;
    delete(keys: string[]): Promise<number>;
    getAlarm(): Promise<number | null>;
    setAlarm(scheduledTime: number): Promise<void>;
  }

  export interface DurableObjectState {
    readonly storage: DurableObjectStorage;
    blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
    waitUntil(promise: Promise<unknown>): void;
  }

  /** Subclasses' public methods are callable on a stub (RPC). */
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
    alarm?(): void | Promise<void>;
  }
}

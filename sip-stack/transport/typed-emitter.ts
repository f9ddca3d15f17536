/**
 * A minimal typed event emitter whose emit() catches listener exceptions: a buggy listener of the layer above
 * must never break the transport (it is reported through `onListenerError`, which counts and logs it).
 */
export type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly handlers = new Map<keyof Events, Listener<never[]>[]>();

  constructor(private readonly onListenerError: (event: string, err: unknown) => void) {}

  on<K extends keyof Events>(event: K, fn: Listener<Events[K]>): this {
    const list = this.handlers.get(event);
    if (list) list.push(fn as unknown as Listener<never[]>);
    else this.handlers.set(event, [fn as unknown as Listener<never[]>]);
    return this;
  }

  off<K extends keyof Events>(event: K, fn: Listener<Events[K]>): this {
    const list = this.handlers.get(event);
    if (!list) return this;
    const i = list.indexOf(fn as unknown as Listener<never[]>);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  once<K extends keyof Events>(event: K, fn: Listener<Events[K]>): this {
    const wrapper = ((...args: Events[K]) => {
      this.off(event, wrapper);
      fn(...args);
    }) as Listener<Events[K]>;
    return this.on(event, wrapper);
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.handlers.get(event)?.length ?? 0;
  }

  /** Calls every listener; an exception in one is caught, reported, and the others still run. */
  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const list = this.handlers.get(event);
    if (!list || list.length === 0) return;
    // Copy only when more than one listener (a listener may remove itself while we iterate).
    if (list.length === 1) {
      this.callOne(event, list[0]!, args);
      return;
    }
    for (const fn of list.slice()) this.callOne(event, fn, args);
  }

  private callOne<K extends keyof Events>(event: K, fn: Listener<never[]>, args: Events[K]): void {
    try {
      (fn as unknown as Listener<Events[K]>)(...args);
    } catch (err) {
      this.onListenerError(String(event), err);
    }
  }
}

/**
 * A minimal typed emitter for CallControl implementations (SIP bindings and test fakes). `emit` catches listener
 * exceptions: a buggy listener must not break the SIP layer that raised the event. Listener errors go to the
 * optional `onListenerError` hook (the call engine counts them).
 */
export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly listeners = new Map<keyof E, Array<(...args: never[]) => void>>();
  onListenerError: ((err: unknown, event: keyof E) => void) | undefined;

  on<K extends keyof E>(event: K, fn: (...args: E[K]) => void): this {
    let list = this.listeners.get(event);
    if (!list) this.listeners.set(event, (list = []));
    list.push(fn as unknown as (...args: never[]) => void);
    return this;
  }

  off<K extends keyof E>(event: K, fn: (...args: E[K]) => void): this {
    const list = this.listeners.get(event);
    if (list) {
      const i = list.indexOf(fn as unknown as (...args: never[]) => void);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  /** Calls every listener of `event` in order; returns how many there were. Never throws. */
  emit<K extends keyof E>(event: K, ...args: E[K]): number {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return 0;
    for (const fn of [...list]) {
      try {
        (fn as unknown as (...a: E[K]) => void)(...args);
      } catch (err) {
        try {
          this.onListenerError?.(err, event);
        } catch {
          // the error reporter itself failed: nothing more to do
        }
      }
    }
    return list.length;
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }
}

/**
 * The typed emitter of the ua layer's public objects. emit() catches listener exceptions (a buggy application
 * listener must not break a call) and reports them through the owner's `onListenerError`.
 */
type Listener = (...args: never[]) => void;

export class UaEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly handlers = new Map<keyof Events, Listener[]>();
  /** @internal set by the owner (UserAgent) to count and log listener exceptions. */
  protected onListenerError: (event: string, err: unknown) => void = () => {};

  on<K extends keyof Events>(event: K, fn: (...args: Events[K]) => void): this {
    const list = this.handlers.get(event);
    if (list) list.push(fn as unknown as Listener);
    else this.handlers.set(event, [fn as unknown as Listener]);
    return this;
  }

  once<K extends keyof Events>(event: K, fn: (...args: Events[K]) => void): this {
    const wrapper = (...args: Events[K]): void => {
      this.off(event, wrapper);
      fn(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof Events>(event: K, fn: (...args: Events[K]) => void): this {
    const list = this.handlers.get(event);
    const i = list?.indexOf(fn as unknown as Listener) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
    return this;
  }

  /**
   * Forget the listeners of every event but `keep` (@internal: an object that can emit nothing more drops them, so
   * the closures of a finished call do not live on with SIP objects that RFC 3261 keeps for retransmissions).
   */
  protected dropListeners(keep?: keyof Events): void {
    for (const event of [...this.handlers.keys()]) if (event !== keep) this.handlers.delete(event);
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.handlers.get(event)?.length ?? 0;
  }

  /** Calls every listener; returns true when there was at least one. */
  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    const list = this.handlers.get(event);
    if (!list || list.length === 0) return false;
    for (const fn of list.slice()) {
      try {
        (fn as unknown as (...a: Events[K]) => void)(...args);
      } catch (err) {
        this.onListenerError(String(event), err);
      }
    }
    return true;
  }
}

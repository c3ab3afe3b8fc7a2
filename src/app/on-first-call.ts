/**
 * Ports whose adapter is made on the first call instead of at start: a web-only or idle process then
 * never loads the SDK behind it (@kubernetes/client-node alone is about 55 MB resident, the ARM SDK
 * clients about 10 MB). Every method of the port is forwarded unchanged to the adapter `make` returns.
 * Ports' methods return promises: when `make` throws (e.g. an unusable kubeconfig), each call returns
 * that error as a rejected promise, as the adapter's own methods would, and the next call tries again.
 */
export function onFirstCall<T extends object>(what: string, make: () => T): T {
  let real: T | undefined;
  const methods = new Map<PropertyKey, (...args: unknown[]) => unknown>();
  return new Proxy({} as T, {
    get(_target, key) {
      // Not a thenable, not a primitive: only the port's methods are forwarded.
      if (typeof key === 'symbol' || key === 'then' || key === 'toJSON') return undefined;
      let m = methods.get(key);
      if (!m) {
        m = (...args: unknown[]): unknown => {
          try {
            real ??= make();
          } catch (e) {
            return Promise.reject(e);
          }
          const f: unknown = (real as Record<PropertyKey, unknown>)[key];
          if (typeof f !== 'function') throw new TypeError(`${what} has no method ${String(key)}`);
          return (f as (...a: unknown[]) => unknown).apply(real, args);
        };
        methods.set(key, m);
      }
      return m;
    },
  });
}

/**
 * A view of a repository whose record reads fail on demand, as a store's do while its server
 * restarts or its network drops: `generations.get`, `casts.get` and `cooks.get` reject while
 * failing, or wait while held (to be let through at a chosen moment, a server restart say); every
 * other call, and the change feed, pass through to the store unchanged.
 */
import type { LedgerRepository } from '../port.js';

export class ReadFault extends Error {
  constructor(readonly operation: string) {
    super(`injected read fault (${operation}): the store is unreachable`);
    this.name = 'ReadFault';
  }
}

export interface FailingReads {
  /** The repository to give the tracker whose reads should fail. */
  readonly repository: LedgerRepository;
  /** From now on, every record read fails. */
  fail(): void;
  /** From now on, record reads reach the store again. */
  heal(): void;
  /** From now on, record reads wait (before reaching the store) until `release()`. */
  hold(): void;
  /** Lets the reads waiting since `hold()` go on to the store, and the next ones too. */
  release(): void;
  /** Reads waiting since `hold()`. */
  held(): number;
  /** Reads that failed so far: injected by `fail()`, or failed by the store itself. */
  failures(): number;
}

const STORES: ReadonlySet<PropertyKey> = new Set(['generations', 'casts', 'cooks']);

/** Functions are bound to their owner, so a store built as a class (private fields) still works. */
function passThrough(target: object, key: PropertyKey): unknown {
  const value = Reflect.get(target, key) as unknown;
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

export function failingReads(inner: LedgerRepository): FailingReads {
  let failing = false;
  let failures = 0;
  let gate: { readonly promise: Promise<void>; readonly open: () => void } | null = null;
  let held = 0;
  const wrapped = new Map<PropertyKey, object>();
  const wrapStore = (name: string, store: object): object =>
    new Proxy(store, {
      get(target, key) {
        if (key !== 'get') return passThrough(target, key);
        const get = passThrough(target, key) as (...args: unknown[]) => Promise<unknown>;
        return async (...args: unknown[]) => {
          while (gate) {
            held += 1;
            await gate.promise.finally(() => (held -= 1));
          }
          if (failing) {
            failures += 1;
            throw new ReadFault(`${name}.get`);
          }
          let result: unknown;
          try {
            result = await get(...args);
          } catch (error) {
            failures += 1;
            throw error;
          }
          // A read that set out before fail() but answers after it is lost too, as a reply is on a
          // dropped connection: otherwise a read queued for a pool connection under load could
          // return records written while the reads were meant to be failing.
          if (failing) {
            failures += 1;
            throw new ReadFault(`${name}.get`);
          }
          return result;
        };
      },
    });
  const repository = new Proxy(inner, {
    get(target, key) {
      if (!STORES.has(key)) return passThrough(target, key);
      let store = wrapped.get(key);
      if (!store) wrapped.set(key, (store = wrapStore(String(key), Reflect.get(target, key) as object)));
      return store;
    },
  });
  return {
    repository,
    fail: () => void (failing = true),
    heal: () => void (failing = false),
    hold() {
      if (gate) return;
      let open = () => {};
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
    },
    release() {
      const current = gate;
      gate = null;
      current?.open();
    },
    held: () => held,
    failures: () => failures,
  };
}

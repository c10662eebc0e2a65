/**
 * A repository wrapper that fails one chosen port call: before the call reaches the store (the
 * write never happens), or after it (the write landed, the caller never hears). It also counts
 * calls, so a test can fail "the Nth call" for every N of a scenario.
 */
import type { LedgerRepository } from '../port.js';

export type FaultMoment = 'before' | 'after';

export interface FaultPlan {
  /** 1-based index of the call to fail; `null` for a fault-free run. */
  readonly failCall: number | null;
  readonly moment: FaultMoment;
}

export class InjectedFault extends Error {
  constructor(
    readonly call: number,
    readonly operation: string,
    readonly moment: FaultMoment,
  ) {
    super(`injected fault ${moment} call ${call} (${operation})`);
    this.name = 'InjectedFault';
  }
}

export interface FaultyRepository {
  readonly repository: LedgerRepository;
  /** Port calls made so far. */
  calls(): number;
  /** The fault that fired, if any. */
  fired(): InjectedFault | null;
}

export function faultyRepository(inner: LedgerRepository, plan: FaultPlan): FaultyRepository {
  let count = 0;
  let fired: InjectedFault | null = null;

  function wrap<F extends (...args: never[]) => Promise<unknown>>(operation: string, method: F, self: object): F {
    return (async (...args: Parameters<F>) => {
      count += 1;
      const call = count;
      if (call === plan.failCall && plan.moment === 'before') {
        fired = new InjectedFault(call, operation, 'before');
        throw fired;
      }
      const result = await method.apply(self, args);
      if (call === plan.failCall && plan.moment === 'after') {
        fired = new InjectedFault(call, operation, 'after');
        throw fired;
      }
      return result;
    }) as F;
  }

  function wrapStore<T extends object>(name: string, store: T): T {
    const wrapped: Record<string, unknown> = {};
    for (const key of methodNames(store)) {
      wrapped[key] = wrap(`${name}.${key}`, (store as Record<string, (...args: never[]) => Promise<unknown>>)[key]!, store);
    }
    return wrapped as T;
  }

  const repository: LedgerRepository = {
    name: inner.name,
    capabilities: inner.capabilities,
    ids: inner.ids,
    generations: wrapStore('generations', inner.generations),
    casts: wrapStore('casts', inner.casts),
    cooks: wrapStore('cooks', inner.cooks),
    accounts: wrapStore('accounts', inner.accounts),
    changes: inner.changes,
    settleGeneration: wrap('settleGeneration', inner.settleGeneration as (...args: never[]) => Promise<unknown>, inner) as LedgerRepository['settleGeneration'],
    insertAttached: wrap('insertAttached', inner.insertAttached as (...args: never[]) => Promise<unknown>, inner) as LedgerRepository['insertAttached'],
    openChildren: wrap('openChildren', inner.openChildren as (...args: never[]) => Promise<unknown>, inner) as LedgerRepository['openChildren'],
    ...(inner.recover ? { recover: wrap('recover', inner.recover as (...args: never[]) => Promise<unknown>, inner) as NonNullable<LedgerRepository['recover']> } : {}),
  };
  return { repository, calls: () => count, fired: () => fired };
}

/** Own and inherited method names (an adapter may implement a store as a class instance). */
function methodNames(store: object): string[] {
  const names = new Set<string>();
  for (let current: object | null = store; current && current !== Object.prototype; current = Object.getPrototypeOf(current) as object | null) {
    for (const key of Object.getOwnPropertyNames(current)) {
      if (key !== 'constructor' && typeof (store as Record<string, unknown>)[key] === 'function') names.add(key);
    }
  }
  return [...names];
}

/**
 * Counting wrappers: around the repository port (every call the tracker makes into a store), and
 * around a MongoDB `Db` (every command an adapter sends through a collection).
 */
import type { LedgerRepository } from '../src/port.js';

export interface CallCount {
  reads: number;
  writes: number;
  /** `store.method` -> calls, in first-call order. */
  readonly calls: Map<string, number>;
}

export function emptyCount(): CallCount {
  return { reads: 0, writes: 0, calls: new Map() };
}

const PORT_READS = new Set(['get', 'list', 'findStale', 'summarizeChildren', 'findForMaintenance']);

function countStore<T extends object>(store: T, name: string, count: () => CallCount): T {
  const counted: Record<string, unknown> = {};
  for (const key of Object.keys(store) as (keyof T & string)[]) {
    const method = store[key];
    if (typeof method !== 'function') continue;
    counted[key] = (...args: unknown[]) => {
      const current = count();
      if (PORT_READS.has(key)) current.reads += 1;
      else current.writes += 1;
      current.calls.set(`${name}.${key}`, (current.calls.get(`${name}.${key}`) ?? 0) + 1);
      return (method as (...parameters: unknown[]) => unknown).apply(store, args);
    };
  }
  return counted as T;
}

/** The repository with every port call counted into `count()` (read at each call, so it can be swapped). */
export function countingRepository(repository: LedgerRepository, count: () => CallCount): LedgerRepository {
  const settle = repository.settleGeneration;
  const insertAttached = repository.insertAttached;
  return {
    name: repository.name,
    capabilities: repository.capabilities,
    ids: repository.ids,
    changes: repository.changes,
    generations: countStore(repository.generations, 'generations', count),
    casts: countStore(repository.casts, 'casts', count),
    cooks: countStore(repository.cooks, 'cooks', count),
    accounts: countStore(repository.accounts, 'accounts', count),
    settleGeneration: (...args) => {
      const current = count();
      current.writes += 1;
      current.calls.set('settleGeneration', (current.calls.get('settleGeneration') ?? 0) + 1);
      return settle.apply(repository, args);
    },
    insertAttached: ((...args: Parameters<typeof insertAttached>) => {
      const current = count();
      current.writes += 1;
      current.calls.set('insertAttached', (current.calls.get('insertAttached') ?? 0) + 1);
      return insertAttached.apply(repository, args);
    }) as typeof insertAttached,
    openChildren: (...args) => {
      const current = count();
      current.reads += 1;
      current.calls.set('openChildren', (current.calls.get('openChildren') ?? 0) + 1);
      return repository.openChildren(...args);
    },
    ...(repository.recover ? { recover: repository.recover.bind(repository) } : {}),
  };
}

/** The driver's collection methods that each send one command to the server. */
const MONGO_READS = new Set(['findOne', 'find', 'countDocuments', 'aggregate', 'distinct', 'estimatedDocumentCount']);
const MONGO_WRITES = new Set([
  'insertOne',
  'insertMany',
  'findOneAndUpdate',
  'updateOne',
  'updateMany',
  'replaceOne',
  'bulkWrite',
  'deleteOne',
  'deleteMany',
  'findOneAndReplace',
  'findOneAndDelete',
]);

/**
 * A `Db` whose collections count the commands sent through them: one per driver call (a `find`
 * is one command for the first batch, which covers everything these benchmarks read).
 */
export function countingDb<D extends { collection(name: string): unknown }>(db: D, count: () => CallCount): D {
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property !== 'collection') {
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
      return (name: string) => {
        const collection = target.collection(name) as object;
        return new Proxy(collection, {
          get(inner, key, innerReceiver) {
            const value = Reflect.get(inner, key, innerReceiver) as unknown;
            if (typeof value !== 'function') return value;
            const method = String(key);
            if (!MONGO_READS.has(method) && !MONGO_WRITES.has(method)) return (value as (...args: unknown[]) => unknown).bind(inner);
            return (...args: unknown[]) => {
              const current = count();
              if (MONGO_READS.has(method)) current.reads += 1;
              else current.writes += 1;
              current.calls.set(`${name}.${method}`, (current.calls.get(`${name}.${method}`) ?? 0) + 1);
              return (value as (...parameters: unknown[]) => unknown).apply(inner, args);
            };
          },
        });
      };
    },
  });
}

/**
 * The one boundary where store failures become typed errors: every port call goes through here,
 * so a driver error always reaches the host as a `RepositoryError` that names the store and the
 * operation, with the driver's error kept as `cause`. Genledger's own errors pass through.
 */
import { GenledgerError, RepositoryError } from '../errors.js';
import type { AccountStore } from '../account-port.js';
import type { PriceTableStore } from '../price-port.js';
import type { GenerationStore, LedgerRepository, ParentStore } from '../port.js';

const GENERATION_METHODS = [
  'insert',
  'findByIdempotencyKey',
  'get',
  'list',
  'findStale',
  'start',
  'recordProgress',
  'recordDelivery',
] as const satisfies readonly (keyof GenerationStore)[];
const ACCOUNT_METHODS = ['move', 'get', 'listEntries', 'reconcile', 'getBudget'] as const satisfies readonly (keyof AccountStore)[];
const PRICE_METHODS = ['latest', 'get', 'append'] as const satisfies readonly (keyof PriceTableStore)[];
const PARENT_METHODS = [
  'insert',
  'findByIdempotencyKey',
  'get',
  'transition',
  'summarizeChildren',
  'replaceAggregates',
  'findForMaintenance',
] as const satisfies readonly (keyof ParentStore<never, never>)[];

function guardStore<T extends object>(repositoryName: string, storeName: string, store: T, methods: readonly (keyof T & string)[]): T {
  const guarded: Partial<Record<keyof T, unknown>> = {};
  for (const key of methods) {
    const method = store[key];
    if (typeof method !== 'function') {
      throw new TypeError(`[genledger] repository "${repositoryName}" does not implement ${storeName}.${key}()`);
    }
    const toTypedError = (error: unknown): never => {
      if (error instanceof GenledgerError) throw error;
      throw new RepositoryError(repositoryName, `${storeName}.${key}`, error);
    };
    // Not an async function: one promise per call instead of two, on every port call.
    guarded[key] = (...args: unknown[]) => {
      try {
        return (method as (...parameters: unknown[]) => Promise<unknown>).apply(store, args).then(undefined, toTypedError);
      } catch (error) {
        return Promise.reject(toTypedErrorSync(error, repositoryName, `${storeName}.${key}`));
      }
    };
  }
  return guarded as T;
}

function toTypedErrorSync(error: unknown, repositoryName: string, operation: string): unknown {
  return error instanceof GenledgerError ? error : new RepositoryError(repositoryName, operation, error);
}

/** Wraps one top-level operation (`settleGeneration`, `insertAttached`, `openChildren`, `recover`) like a store method. */
function guardOperation<F extends (...args: never[]) => Promise<unknown>>(repository: LedgerRepository, operation: string, method: F): F {
  const toTypedError = (error: unknown): never => {
    throw toTypedErrorSync(error, repository.name, operation);
  };
  return ((...args: Parameters<F>) => {
    try {
      return method.apply(repository, args).then(undefined, toTypedError);
    } catch (error) {
      return Promise.reject(toTypedErrorSync(error, repository.name, operation));
    }
  }) as F;
}

function required<F>(repository: LedgerRepository, operation: string, method: F | undefined): F {
  if (typeof method !== 'function') throw new TypeError(`[genledger] repository "${repository.name}" does not implement ${operation}()`);
  return method;
}

export function guardRepository(repository: LedgerRepository): LedgerRepository {
  const { recover, adjustGeneration, adjustGenerations } = repository;
  return {
    // The feed is passed through: its errors reach `onError`, not a caller.
    changes: repository.changes,
    settleGeneration: guardOperation(repository, 'settleGeneration', required(repository, 'settleGeneration', repository.settleGeneration)),
    insertAttached: guardOperation(repository, 'insertAttached', required(repository, 'insertAttached', repository.insertAttached)),
    openChildren: guardOperation(repository, 'openChildren', required(repository, 'openChildren', repository.openChildren)),
    ...(typeof recover === 'function' ? { recover: guardOperation(repository, 'recover', recover) } : {}),
    ...(typeof adjustGeneration === 'function' ? { adjustGeneration: guardOperation(repository, 'adjustGeneration', adjustGeneration) } : {}),
    ...(typeof adjustGenerations === 'function' ? { adjustGenerations: guardOperation(repository, 'adjustGenerations', adjustGenerations) } : {}),
    name: repository.name,
    capabilities: repository.capabilities,
    ids: repository.ids,
    generations: guardStore(repository.name, 'generations', repository.generations, GENERATION_METHODS),
    casts: guardStore(repository.name, 'casts', repository.casts, PARENT_METHODS),
    cooks: guardStore(repository.name, 'cooks', repository.cooks, PARENT_METHODS),
    accounts: guardStore(repository.name, 'accounts', repository.accounts, ACCOUNT_METHODS),
    // Checked only where the store declares stored tables (capabilities.prices).
    ...(repository.capabilities.prices === true && repository.prices !== undefined ? { prices: guardStore(repository.name, 'prices', repository.prices, PRICE_METHODS) } : {}),
  };
}

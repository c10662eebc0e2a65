/**
 * `createTracker`'s options, checked whole at construction by one zod schema: a wrong option is a
 * `ValidationError` naming it when the tracker is made, not a TypeError at the first call (or,
 * for a logger, after a write landed). Unknown keys are refused, so a misspelt option (`clok`)
 * does not silently fall back to its default.
 */
import { z } from 'zod';
import { toUsdAmount, type UsdAmount } from '../domain/money.js';
import type { ParentCaps } from '../domain/rollup/contribution.js';
import { priceTableSchema, type PriceTable, type PriceTableInput } from '../domain/pricing.js';
import { ValidationError } from '../errors.js';
import type { IdGenerator, LedgerRepository } from '../port.js';
import type { Clock } from './clock.js';
import type { Logger } from './context.js';
import type { ListenerErrorHandler } from './events.js';

/** Host-set caps; none of them is a capacity limit of the store. */
export interface TrackerLimits {
  /**
   * Most children a cast or cook may have in flight at once (a cast: steps; a cook: pieces, and
   * generations below it for a step of a cast piece); recording one more throws a
   * `ConflictError`. A host's own safety cap, checked against a count: a parent's size and the
   * cost of each write do not grow with its children in flight.
   * @default 1000000
   */
  readonly maxInFlightChildren?: number | undefined;
  /**
   * Most child ids embedded in a parent (`stepGenerationIds`, `generationIds`, `castIds`); the
   * rest are found with `listGenerations`.
   * @default 1000
   */
  readonly maxEmbeddedChildIds?: number | undefined;
}

export interface TrackerOptions {
  /** The store: `memoryRepository()`, `mongoRepository(db)`, `postgresRepository(pool)`, or your own adapter. */
  readonly repository: LedgerRepository;
  /** An object with `now(): Date`. @default the system clock */
  readonly clock?: Clock | undefined;
  /** `(kind) => string`. @default the repository's preferred ids, else ObjectId-shaped hex ids */
  readonly ids?: IdGenerator | undefined;
  /**
   * Points charged per dollar of cost, used when `completeGeneration` is given a cost but no
   * points: `pointsSpent = ceil(costUsd * pointsPerUsd)`, computed exactly. Without it, omitted
   * points are 0.
   */
  readonly pointsPerUsd?: string | number | undefined;
  readonly limits?: TrackerLimits | undefined;
  /**
   * The price table `completeGeneration` computes costs from when it is given `usage` and no
   * `costUsd`: per tool (and service), effective-dated versions, exact decimal prices per unit.
   * Held in this process; replace it with `tracker.setPrices()`. See docs/pricing.md.
   * @default [] (usage is recorded, unpriced)
   */
  readonly prices?: PriceTableInput | undefined;
  /**
   * Follow the table stored through the repository (stores with `capabilities.prices`; else an
   * `UnsupportedError` here): read its latest revision at once, then every `pricesRefreshMs`
   * milliseconds (100 to 86,400,000), in the background. Until the first read lands, `prices`
   * (if given) is used: `await tracker.refreshPrices()` before taking work. Completions never
   * wait for a read: computing a cost reads the table held in the process. A failed read is
   * logged and the table held stays. Stop it with `tracker.stopPriceRefresh()`; the timer never
   * keeps the process alive. See docs/pricing.md, "Stored tables".
   * @default undefined (no refresh: `refreshPrices()` reads on demand)
   * @experimental
   */
  readonly pricesRefreshMs?: number | undefined;
  /** An object with `warn` and `error` methods (`console` is one). @default warnings and errors to `console` */
  readonly logger?: Logger | undefined;
  /** Where a throwing event listener's error goes. @default `logger.error` */
  readonly onListenerError?: ListenerErrorHandler | undefined;
}

export const DEFAULT_TRACKER_LIMITS = { maxInFlightChildren: 1_000_000, maxEmbeddedChildIds: 1_000 } as const;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const hasMethods = (value: unknown, ...names: string[]) => isObject(value) && names.every((name) => typeof value[name] === 'function');

const repositorySchema = z.custom<LedgerRepository>(
  (value) => isObject(value) && isObject(value.generations) && isObject(value.casts) && isObject(value.cooks),
  {
    error: (issue) =>
      typeof issue.input === 'function'
        ? 'is a function: call the factory, e.g. memoryRepository(), not memoryRepository'
        : 'is required: pass memoryRepository(), mongoRepository(db), postgresRepository(pool) or your own adapter',
  },
);
const clockSchema = z.custom<Clock>((value) => hasMethods(value, 'now'), {
  error: (issue) =>
    typeof issue.input === 'function'
      ? 'must be an object with now(), not a function: { now: () => new Date() }'
      : 'must be an object with a now() method returning a Date',
});
const loggerSchema = z.custom<Logger>((value) => hasMethods(value, 'warn', 'error'), {
  error: (issue) =>
    typeof issue.input === 'function'
      ? 'must be an object with warn() and error() methods, not a function: pass console, or { warn, error }'
      : 'must be an object with warn() and error() methods (console is one)',
});
const functionSchema = <T>(shape: string) => z.custom<T>((value) => typeof value === 'function', { error: `must be a function ${shape}` });
const capSchema = z.number({ error: 'must be a whole number of at least 1' }).int('must be a whole number of at least 1').min(1, 'must be a whole number of at least 1').max(Number.MAX_SAFE_INTEGER);

const trackerOptionsSchema = z.strictObject({
  repository: repositorySchema,
  clock: clockSchema.optional(),
  ids: functionSchema<IdGenerator>('(kind) => string').optional(),
  pointsPerUsd: z.union([z.string(), z.number()], { error: 'must be a decimal string or a number' }).optional(),
  prices: priceTableSchema.optional(),
  pricesRefreshMs: z
    .number({ error: 'must be a whole number of milliseconds from 100 to 86400000' })
    .int('must be a whole number of milliseconds from 100 to 86400000')
    .min(100, 'must be a whole number of milliseconds from 100 to 86400000')
    .max(86_400_000, 'must be a whole number of milliseconds from 100 to 86400000')
    .optional(),
  limits: z.strictObject({ maxInFlightChildren: capSchema.optional(), maxEmbeddedChildIds: capSchema.optional() }).optional(),
  logger: loggerSchema.optional(),
  onListenerError: functionSchema<ListenerErrorHandler>('(error, event) => void').optional(),
});

/** The options as the tracker uses them: checked, with defaults resolved (except `ids`, resolved with the repository). */
export interface ResolvedTrackerOptions {
  readonly repository: LedgerRepository;
  readonly clock: Clock | undefined;
  readonly ids: IdGenerator | undefined;
  readonly caps: ParentCaps;
  readonly pointsPerUsd: UsdAmount | null;
  readonly prices: PriceTable;
  readonly pricesRefreshMs: number | undefined;
  readonly logger: Logger | undefined;
  readonly onListenerError: ListenerErrorHandler | undefined;
}

/** Checks `createTracker`'s options; throws a `ValidationError` naming every wrong one (`options.clock`, ...). */
export function parseTrackerOptions(options: unknown): ResolvedTrackerOptions {
  if (!isObject(options)) {
    throw new ValidationError([{ field: 'options', reason: 'must be an object: createTracker({ repository: memoryRepository() })' }]);
  }
  const result = trackerOptionsSchema.safeParse(options);
  if (!result.success) throw ValidationError.fromZod(result.error, 'options');
  const parsed = result.data;
  return {
    repository: parsed.repository,
    clock: parsed.clock,
    ids: parsed.ids,
    caps: {
      maxInFlight: parsed.limits?.maxInFlightChildren ?? DEFAULT_TRACKER_LIMITS.maxInFlightChildren,
      maxEmbeddedIds: parsed.limits?.maxEmbeddedChildIds ?? DEFAULT_TRACKER_LIMITS.maxEmbeddedChildIds,
    },
    pointsPerUsd: parsePointsPerUsd(parsed.pointsPerUsd),
    prices: parsed.prices ?? [],
    pricesRefreshMs: parsed.pricesRefreshMs,
    logger: parsed.logger,
    onListenerError: parsed.onListenerError,
  };
}

/** `options.pointsPerUsd` as an exact decimal (the domain reduces it to a `PointsRate` once, in pricing.ts). */
function parsePointsPerUsd(rate: string | number | undefined): UsdAmount | null {
  if (rate === undefined) return null;
  try {
    return toUsdAmount(rate);
  } catch (error) {
    throw new ValidationError([{ field: 'options.pointsPerUsd', reason: error instanceof Error ? error.message : 'is not a decimal' }]);
  }
}

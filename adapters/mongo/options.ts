/** Options of `mongoRepository`, with their defaults. */

/** The collections genledger reads and writes. */
export interface MongoCollectionNames {
  /**
   * Generations, one document each.
   * @default 'generationOutputs'
   */
  readonly generations: string;
  /**
   * Casts (multi-step spell runs).
   * @default 'casts'
   */
  readonly casts: string;
  /**
   * Cooks (batch runs toward a collection's supply).
   * @default 'cooks'
   */
  readonly cooks: string;
  /**
   * The collections cooks fill. genledger only renames it into place (`migrate`); it never writes it.
   * @default 'collections'
   */
  readonly collections: string;
}

/** The production collection names. */
export const DEFAULT_COLLECTIONS: MongoCollectionNames = Object.freeze({
  generations: 'generationOutputs',
  casts: 'casts',
  cooks: 'cooks',
  collections: 'collections',
});

export interface MongoRepositoryOptions {
  /**
   * Collection names, for a database that names them differently. Missing names take the defaults.
   * @default DEFAULT_COLLECTIONS
   */
  readonly collections?: Partial<MongoCollectionNames>;
  /**
   * Name used in error messages (`[genledger] [mongo] ...`).
   * @default 'mongo'
   */
  readonly name?: string;
}

/** Every option's default, as one constant. */
export const DEFAULT_MONGO_OPTIONS: Readonly<Required<{ [K in keyof MongoRepositoryOptions]: NonNullable<MongoRepositoryOptions[K]> }>> = Object.freeze({
  collections: DEFAULT_COLLECTIONS,
  name: 'mongo',
});

export function resolveCollectionNames(names: Partial<MongoCollectionNames> | undefined): MongoCollectionNames {
  const given = Object.fromEntries(Object.entries(names ?? {}).filter(([, value]) => typeof value === 'string' && value.length > 0));
  return { ...DEFAULT_COLLECTIONS, ...given };
}

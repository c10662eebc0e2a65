/**
 * Operations on a production database: the legacy audit and backfill of `generationOutputs`, and
 * the `cook_collections` -> `collections` migration. Library functions; the `genledger` command
 * (../cli.ts) is a thin shell over them.
 */
import type { AnyBulkWriteOperation, Db, Document } from 'mongodb';
import { LEGACY_PROBLEMS, planGenerationRepair, unchangedSince, type LegacyProblem } from './repairs.js';
import { fromStoredId, type StoredDocument } from '../ids.js';
import { resolveCollectionNames, type MongoCollectionNames } from '../options.js';

export interface LegacyScanOptions {
  /** Collection names, as for `mongoRepository`. @default DEFAULT_COLLECTIONS */
  readonly collections?: Partial<MongoCollectionNames>;
  /** A generation open this long with no write is stuck. @default 24 hours */
  readonly stuckAfterMs?: number;
  /** The instant the scan plans repairs at. @default now */
  readonly now?: Date;
  /** Documents per write batch (backfill) and between progress reports. @default 500 */
  readonly batchSize?: number;
  /** Called after each batch with documents scanned so far and the collection's estimated size. */
  readonly onProgress?: (scanned: number, total: number) => void;
}

export interface LegacyAuditReport {
  readonly collection: string;
  /** Documents read. */
  readonly scanned: number;
  /** Documents with at least one problem. */
  readonly withProblems: number;
  /** Documents per problem (a document may have several). */
  readonly problems: Readonly<Record<LegacyProblem, number>>;
  /** Up to five ids per problem, to look at. */
  readonly samples: Readonly<Partial<Record<LegacyProblem, readonly string[]>>>;
}

export interface BackfillOptions extends LegacyScanOptions {
  /** Write the repairs; without it the backfill only reports what it would do. @default false */
  readonly apply?: boolean;
}

export interface BackfillReport extends LegacyAuditReport {
  readonly applied: boolean;
  /** Documents a repair was planned for (= `withProblems`). */
  readonly planned: number;
  /** Documents repaired (0 in a dry run). */
  readonly repaired: number;
  /** Planned repairs not written because the document changed after it was read (run again). */
  readonly changedMeanwhile: number;
}

const SAMPLES = 5;
// Payloads are not needed to decide a repair and can be large.
const SCAN_PROJECTION = { requestPayload: 0, responsePayload: 0 };

function emptyCounts(): Record<LegacyProblem, number> {
  return Object.fromEntries(LEGACY_PROBLEMS.map((problem) => [problem, 0])) as Record<LegacyProblem, number>;
}

async function scan(
  db: Db,
  options: LegacyScanOptions,
  visit: (document: Document, repair: ReturnType<typeof planGenerationRepair>) => void,
  flush: () => Promise<void>,
): Promise<LegacyAuditReport> {
  const names = resolveCollectionNames(options.collections);
  const collection = db.collection<StoredDocument>(names.generations);
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? 500;
  const total = options.onProgress ? await collection.countDocuments({}) : 0;
  const problems = emptyCounts();
  const samples: Partial<Record<LegacyProblem, string[]>> = {};
  let scanned = 0;
  let withProblems = 0;
  // One cursor in _id order: it sees every document once, whatever mix of id types the collection holds.
  for await (const document of collection.find({}, { projection: SCAN_PROJECTION, sort: { _id: 1 }, batchSize })) {
    const repair = planGenerationRepair(document, { now, stuckAfterMs: options.stuckAfterMs });
    scanned += 1;
    if (repair.problems.length > 0) withProblems += 1;
    for (const problem of repair.problems) {
      problems[problem] += 1;
      const list = (samples[problem] ??= []);
      if (list.length < SAMPLES) list.push(fromStoredId(document._id) ?? String(document._id));
    }
    visit(document, repair);
    if (scanned % batchSize === 0) {
      await flush();
      options.onProgress?.(scanned, Math.max(total, scanned));
    }
  }
  await flush();
  options.onProgress?.(scanned, Math.max(total, scanned));
  return { collection: names.generations, scanned, withProblems, problems, samples };
}

/** Counts, per problem, the `generationOutputs` documents that need a repair. Reads only. */
export async function auditLegacy(db: Db, options: LegacyScanOptions = {}): Promise<LegacyAuditReport> {
  return scan(db, options, () => {}, async () => {});
}

/**
 * Repairs what the audit finds, in batches of conditional updates: each repair applies only if the
 * fields it rewrites still hold what was read, so a live write is never overwritten (such documents
 * are counted in `changedMeanwhile`; run again). Dry run unless `apply`. A second run finds
 * nothing to do.
 */
export async function backfillLegacy(db: Db, options: BackfillOptions = {}): Promise<BackfillReport> {
  const names = resolveCollectionNames(options.collections);
  const collection = db.collection<StoredDocument>(names.generations);
  const apply = options.apply ?? false;
  let batch: AnyBulkWriteOperation<StoredDocument>[] = [];
  let planned = 0;
  let repaired = 0;
  let matched = 0;
  const report = await scan(
    db,
    options,
    (document, repair) => {
      if (Object.keys(repair.set).length === 0) return;
      planned += 1;
      if (apply) batch.push({ updateOne: { filter: unchangedSince(document, repair.set), update: { $set: repair.set } } });
    },
    async () => {
      if (batch.length === 0) return;
      const result = await collection.bulkWrite(batch, { ordered: false });
      matched += result.matchedCount;
      repaired += result.modifiedCount;
      batch = [];
    },
  );
  return { ...report, applied: apply, planned, repaired, changedMeanwhile: apply ? planned - matched : 0 };
}

export interface MigrationReport {
  /** What happened: the rename, or why nothing had to happen. */
  readonly outcome: 'renamed' | 'already-migrated' | 'nothing-to-migrate';
  readonly from: string;
  readonly to: string;
  readonly detail: string;
}

/** The migration refused to act; `reason` says why and what to do. */
export class MigrationRefusedError extends Error {
  constructor(readonly reason: string) {
    super(`[genledger] [mongo] migrate: ${reason}`);
    this.name = 'MigrationRefusedError';
  }
}

export interface MigrateOptions {
  /** Collection names; `collections` is the target. @default DEFAULT_COLLECTIONS */
  readonly collections?: Partial<MongoCollectionNames>;
  /** The old name. @default 'cook_collections' */
  readonly legacyCollectionsName?: string;
}

async function exists(db: Db, name: string): Promise<boolean> {
  return (await db.listCollections({ name }, { nameOnly: true }).toArray()).length > 0;
}

/**
 * Renames `cook_collections` to `collections`. Safe to re-run: when only `collections` exists it
 * reports `already-migrated`, when neither does `nothing-to-migrate`. When both exist it refuses
 * (throws {@link MigrationRefusedError}): merging or overwriting either could lose data, so a
 * person must decide which one is current.
 */
export async function migrateCollections(db: Db, options: MigrateOptions = {}): Promise<MigrationReport> {
  return migrate(db, options, 1);
}

async function migrate(db: Db, options: MigrateOptions, attempt: number): Promise<MigrationReport> {
  const from = options.legacyCollectionsName ?? 'cook_collections';
  const to = resolveCollectionNames(options.collections).collections;
  const [hasOld, hasNew] = [await exists(db, from), await exists(db, to)];
  if (hasOld && hasNew) {
    const [oldCount, newCount] = [await db.collection(from).countDocuments({}), await db.collection(to).countDocuments({})];
    throw new MigrationRefusedError(
      `both "${from}" (${oldCount} documents) and "${to}" (${newCount} documents) exist; renaming would have to merge or overwrite one of them, and genledger will not guess which is current. Compare them, drop or rename the stale one, and run migrate again.`,
    );
  }
  if (!hasOld) {
    return hasNew
      ? { outcome: 'already-migrated', from, to, detail: `"${to}" exists and "${from}" does not: nothing to do` }
      : { outcome: 'nothing-to-migrate', from, to, detail: `neither "${from}" nor "${to}" exists: nothing to do` };
  }
  try {
    await db.renameCollection(from, to, { dropTarget: false });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // Another migrate (or a writer) got there between the check and the rename: look again.
    if ((code === 26 || code === 48) && attempt < 3) return migrate(db, options, attempt + 1);
    throw error;
  }
  return { outcome: 'renamed', from, to, detail: `renamed "${from}" to "${to}"` };
}

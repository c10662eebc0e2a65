/**
 * `journalRepository({ path })`: a store written the way a third party would write one, against
 * the published package only (`genledger` and `genledger/adapter`). It keeps its records in Maps
 * and makes them durable with a write-ahead journal: a JSON-lines file with one line per port
 * operation, holding every record that operation writes.
 *
 * Why it is correct without a lock: every operation runs synchronously from its first read to its
 * last store (JavaScript runs one piece of synchronous code at a time), so no other operation can
 * see or change the records in between. The line is appended BEFORE the Maps change: if the
 * append fails, nothing changed; if the process dies mid-append, the torn last line is skipped
 * when the journal is read back, so an operation is in the store whole or not at all.
 *
 * What it is not: shared across processes (each process would keep its own Maps), nor safe
 * against power loss (the journal is not fsynced), nor compacted (the file grows with every write).
 */
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { ConflictError, isTerminalGenerationStatus, type Cast, type Cook, type EntityKind, type Generation } from 'genledger';
import {
  CastPieceTally,
  createAttached,
  creationCookId,
  endCast,
  GenerationTally,
  recordGenerationDelivery,
  recordGenerationProgress,
  replaceCastAggregates,
  replaceCookAggregates,
  readStoredCostProvenance,
  settle,
  startGeneration,
  transitionCook,
  type CastEnding,
  type ChildrenSummary,
  type GenerationStore,
  type InsertAttached,
  type LedgerRepository,
  unsupportedAccountStore,
  type MaintenanceQuery,
  type NewAttachedChild,
  type ParentStore,
  type ParentTransition,
  type WriteResult,
} from 'genledger/adapter';

type AnyRecord = Generation | Cast | Cook;
type Written = { readonly kind: EntityKind; readonly record: AnyRecord };

/** The fields of each record kind that hold a `Date` (JSON has no dates: they are revived by name). */
const DATE_FIELDS: Record<EntityKind, readonly string[]> = {
  generation: ['requestTimestamp', 'startedAt', 'responseTimestamp', 'deliveryTimestamp', 'updatedAt'],
  cast: ['startedAt', 'completedAt', 'updatedAt'],
  cook: ['startedAt', 'completedAt', 'updatedAt'],
};

function revive({ kind, record }: Written): Written {
  const copy: Record<string, unknown> = { ...record };
  for (const field of DATE_FIELDS[kind]) if (typeof copy[field] === 'string') copy[field] = new Date(copy[field]);
  // A generation's cost provenance holds instants too (price versions, adjustments).
  if (kind === 'generation') copy.costProvenance = readStoredCostProvenance(copy.costProvenance);
  return { kind, record: copy as unknown as AnyRecord };
}

export interface JournalRepositoryOptions {
  /** The journal file. Created on the first write; read back (replayed) when it exists. */
  readonly path: string;
}

/** The port, and how many records of each kind are stored (for tests and the conformance inspector). */
export interface JournalRepository extends LedgerRepository {
  count(): { generations: number; casts: number; cooks: number };
}

export function journalRepository({ path }: JournalRepositoryOptions): JournalRepository {
  const tables = { generation: new Map<string, Generation>(), cast: new Map<string, Cast>(), cook: new Map<string, Cook>() };
  const keys = { generation: new Map<string, string>(), cast: new Map<string, string>(), cook: new Map<string, string>() };
  // Children by parent id, so a parent's children are found without a scan of every record.
  const generationsByParent = new Map<string, Set<string>>();
  const castsByCook = new Map<string, Set<string>>();

  /** Puts a record into the Maps and the indexes (its version replaces the one stored). */
  function apply({ kind, record }: Written): void {
    (tables[kind] as Map<string, AnyRecord>).set(record.id, record);
    if (record.idempotencyKey !== null) keys[kind].set(record.idempotencyKey, record.id);
    const index = (map: Map<string, Set<string>>, parentId: string | null) => {
      if (parentId !== null) map.set(parentId, (map.get(parentId) ?? new Set()).add(record.id));
    };
    if (kind === 'generation') {
      index(generationsByParent, (record as Generation).castId);
      index(generationsByParent, (record as Generation).cookId);
    } else if (kind === 'cast') {
      index(castsByCook, (record as Cast).cookId);
    }
  }

  /**
   * One operation's writes: appended to the journal as one line, then applied. The stored records
   * are the line read back, so the store never shares an object (metadata, payloads) with the caller.
   */
  function commit(writes: readonly Written[]): void {
    if (writes.length === 0) return;
    const line = JSON.stringify(writes);
    appendFileSync(path, `${line}\n`);
    for (const write of JSON.parse(line) as Written[]) apply(revive(write));
  }

  // Replay: every complete line, in order. A last line without its line break was cut short by a
  // crash: it is not an operation, and it is cut off so that the next line starts clean.
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    if (complete.length < text.length) truncateSync(path, Buffer.byteLength(complete));
    for (const line of complete.split('\n')) if (line !== '') for (const written of JSON.parse(line) as Written[]) apply(revive(written));
  }

  const stored = <T extends AnyRecord>(kind: EntityKind, id: string) => (tables[kind] as Map<string, AnyRecord>).get(id) as T | undefined;
  const byKey = <T extends AnyRecord>(kind: EntityKind, key: string) => {
    const id = keys[kind].get(key);
    return id === undefined ? null : (stored<T>(kind, id) ?? null);
  };
  const many = <T extends AnyRecord>(kind: EntityKind, ids: Iterable<string>) =>
    [...new Set(ids)].map((id) => stored<T>(kind, id)).filter((record): record is T => record !== undefined);
  const childrenOf = (parentId: string) => many<Generation>('generation', generationsByParent.get(parentId) ?? []);
  const castPiecesOf = (cookId: string) => many<Cast>('cast', castsByCook.get(cookId) ?? []);
  const cookOf = (cast: Cast) => (cast.cookId === null ? null : (stored<Cook>('cook', cast.cookId) ?? null));

  /** An insert without parents: the key first (its holder is returned), then the id (a ConflictError). */
  function insert<T extends AnyRecord>(kind: EntityKind, record: T) {
    const holder = record.idempotencyKey === null ? null : byKey<T>(kind, record.idempotencyKey);
    if (holder !== null) return { created: false, record: holder };
    if (stored(kind, record.id)) throw new ConflictError('id', `a ${kind} with id "${record.id}" already exists`);
    commit([{ kind, record }]);
    return { created: true, record: stored<T>(kind, record.id)! };
  }

  /** A single-record write: the reducer on the stored record, committed if it changed anything. */
  function write<T extends AnyRecord>(kind: EntityKind, id: string, reduce: (record: T) => WriteResult<T>): WriteResult<T> | null {
    const current = stored<T>(kind, id);
    if (current === undefined) return null;
    const result = reduce(current);
    if (result.changed) commit([{ kind, record: result.record }]);
    return result;
  }

  function commitEnding(ending: CastEnding): CastEnding {
    const writes: Written[] = [];
    if (ending.cast.changed) writes.push({ kind: 'cast', record: ending.cast.record });
    if (ending.castPiece?.changed) writes.push({ kind: 'cook', record: ending.castPiece.record });
    commit(writes);
    return ending;
  }

  /** Oldest first by `time`, then id: the ids a parent embeds after reconcile. */
  function firstIds<T extends AnyRecord>(records: readonly T[], time: (record: T) => Date, limit: number): string[] {
    return [...records]
      .sort((a, b) => time(a).getTime() - time(b).getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((record) => record.id);
  }

  function summarize(kind: 'cast' | 'cook', id: string, maxEmbeddedIds: number): ChildrenSummary {
    const children = childrenOf(id).filter((child) => (kind === 'cast' ? child.castId === id : child.cookId === id));
    const generations = new GenerationTally();
    // A generation is a cook piece when it has no cast; a cast's steps never are.
    for (const child of children) generations.add(child, kind === 'cook' && child.castId === null);
    const summary = generations.summary(firstIds(children, (child) => child.requestTimestamp, maxEmbeddedIds));
    if (kind === 'cast') return { generations: summary, casts: null };
    const pieces = castPiecesOf(id);
    const casts = new CastPieceTally();
    for (const piece of pieces) casts.add(piece);
    return { generations: summary, casts: casts.summary(firstIds(pieces, (piece) => piece.startedAt, maxEmbeddedIds)) };
  }

  function findForMaintenance<T extends Cast | Cook>(kind: 'cast' | 'cook', { idleBefore, afterId, limit }: MaintenanceQuery): T[] {
    const open = (parent: T) => parent.inFlightCount > 0 || (kind === 'cook' && (parent as Cook).openGenerationCount > 0);
    return [...(tables[kind] as Map<string, T>).values()]
      .filter((parent) => afterId === undefined || parent.id > afterId)
      .filter((parent) => (parent.status === 'running' && parent.inFlightCount === 0 && parent.updatedAt < idleBefore) || (parent.status === 'cancelled' && open(parent)))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, limit);
  }

  const generations: GenerationStore = {
    insert: async (generation) => insert('generation', generation),
    findByIdempotencyKey: async (key) => byKey<Generation>('generation', key),
    get: async (ids) => many<Generation>('generation', ids),
    async list(query) {
      const direction = query.order === 'asc' ? 1 : -1;
      const compare = (a: { requestTimestamp: Date; id: string }, b: { requestTimestamp: Date; id: string }) =>
        direction * (a.requestTimestamp.getTime() - b.requestTimestamp.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      // A parent's children through the index; an account's (or everyone's) by a scan.
      const parentId = query.castId ?? query.cookId;
      return (parentId === undefined ? [...tables.generation.values()] : childrenOf(parentId))
        .filter(
          (g) =>
            (query.castId === undefined || g.castId === query.castId) &&
            (query.cookId === undefined || g.cookId === query.cookId) &&
            (query.masterAccountId === undefined || g.masterAccountId === query.masterAccountId) &&
            (query.toolId === undefined || g.toolId === query.toolId) &&
            (query.statuses === undefined || query.statuses.includes(g.status)) &&
            (query.after === undefined || compare(g, query.after) > 0),
        )
        .sort(compare)
        .slice(0, query.limit);
    },
    async findStale({ updatedBefore, limit }) {
      return [...tables.generation.values()]
        .filter((g) => !isTerminalGenerationStatus(g.status) && g.updatedAt < updatedBefore)
        .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime())
        .slice(0, limit);
    },
    start: async (id, at) => write<Generation>('generation', id, (g) => startGeneration(g, at)),
    recordProgress: async (id, report) => write<Generation>('generation', id, (g) => recordGenerationProgress(g, report)),
    recordDelivery: async (id, report) => write<Generation>('generation', id, (g) => recordGenerationDelivery(g, report)),
  };

  const casts: ParentStore<Cast, CastEnding> = {
    insert: async (cast) => insert('cast', cast),
    findByIdempotencyKey: async (key) => byKey<Cast>('cast', key),
    get: async (ids) => many<Cast>('cast', ids),
    async transition(id, transition: ParentTransition, at) {
      const cast = stored<Cast>('cast', id);
      return cast === undefined ? null : commitEnding(endCast(cast, cookOf(cast), transition, at));
    },
    summarizeChildren: async (id, { maxEmbeddedIds }) => summarize('cast', id, maxEmbeddedIds),
    async replaceAggregates(id, expectedVersion, recomputed, at) {
      const cast = stored<Cast>('cast', id);
      const ending = cast === undefined ? null : replaceCastAggregates(cast, expectedVersion, recomputed, cookOf(cast), at);
      return ending === null ? null : commitEnding(ending);
    },
    findForMaintenance: async (query) => findForMaintenance<Cast>('cast', query),
  };

  const cooks: ParentStore<Cook, WriteResult<Cook>> = {
    insert: async (cook) => insert('cook', cook),
    findByIdempotencyKey: async (key) => byKey<Cook>('cook', key),
    get: async (ids) => many<Cook>('cook', ids),
    transition: async (id, transition, at) => write<Cook>('cook', id, (cook) => transitionCook(cook, transition, at)),
    summarizeChildren: async (id, { maxEmbeddedIds }) => summarize('cook', id, maxEmbeddedIds),
    async replaceAggregates(id, expectedVersion, recomputed, at) {
      const cook = stored<Cook>('cook', id);
      const result = cook === undefined ? null : replaceCookAggregates(cook, expectedVersion, recomputed, at);
      if (result?.changed) commit([{ kind: 'cook', record: result.record }]);
      return result;
    },
    findForMaintenance: async (query) => findForMaintenance<Cook>('cook', query),
  };

  /** Creation with parents: the key first, then `createAttached` decides; its writes are one line. */
  async function insertAttached(child: NewAttachedChild) {
    const holder = child.record.idempotencyKey === null ? null : byKey<Generation | Cast>(child.kind, child.record.idempotencyKey);
    if (holder !== null) return { outcome: 'existing' as const, record: holder };
    const cast = child.kind === 'generation' && child.castId !== null ? (stored<Cast>('cast', child.castId) ?? null) : null;
    const cookId = creationCookId(child, cast);
    const decided = createAttached(child, { cast, cook: cookId === null ? null : (stored<Cook>('cook', cookId) ?? null) });
    if (decided.outcome !== 'created') return decided;
    if (stored(child.kind, decided.record.id)) throw new ConflictError('id', `a ${child.kind} with id "${decided.record.id}" already exists`);
    const writes: Written[] = [];
    if (decided.cast !== null) writes.push({ kind: 'cast', record: decided.cast });
    if (decided.cook !== null) writes.push({ kind: 'cook', record: decided.cook });
    writes.push({ kind: child.kind, record: decided.record });
    commit(writes);
    return { ...decided, record: stored(child.kind, decided.record.id)! };
  }

  return {
    name: 'journal',
    capabilities: { sharedAcrossProcesses: false, accounts: false, parentHolds: false },
    accounts: unsupportedAccountStore('journal'),
    generations,
    casts,
    cooks,
    insertAttached: insertAttached as InsertAttached,

    /** Completion: `settle` decides the generation's write and its parents'; all of them are one line. */
    async settleGeneration(id, outcome, at) {
      const generation = stored<Generation>('generation', id);
      if (generation === undefined) return null;
      const cast = generation.castId === null ? null : (stored<Cast>('cast', generation.castId) ?? null);
      const cook = generation.cookId === null ? null : (stored<Cook>('cook', generation.cookId) ?? null);
      const settlement = settle(generation, cast, cook, outcome, at);
      const writes: Written[] = [];
      if (settlement.generation.changed) writes.push({ kind: 'generation', record: settlement.generation.record });
      if (settlement.cast?.changed) writes.push({ kind: 'cast', record: settlement.cast.record });
      const lastCookWrite = settlement.castPiece ?? settlement.cook;
      if (lastCookWrite?.changed) writes.push({ kind: 'cook', record: lastCookWrite.record });
      commit(writes);
      return settlement;
    },

    async openChildren(parent, limit) {
      const open = childrenOf(parent.id).filter(
        (g) => !isTerminalGenerationStatus(g.status) && (parent.kind === 'cast' ? g.castId === parent.id : g.cookId === parent.id),
      );
      const running = parent.kind === 'cook' ? castPiecesOf(parent.id).filter((piece) => piece.status === 'running') : [];
      return { generationIds: open.slice(0, limit).map((g) => g.id), castIds: running.slice(0, limit).map((piece) => piece.id) };
    },

    count: () => ({ generations: tables.generation.size, casts: tables.cast.size, cooks: tables.cook.size }),
  } satisfies JournalRepository;
}

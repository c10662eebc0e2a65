/**
 * A thin fake of the official driver's `Db`, backed by mingo: an independent implementation of
 * MongoDB's query and update language evaluates every filter and update document the adapter
 * sends. It implements only the driver methods genledger/mongo calls, with the driver's own
 * semantics where they matter to correctness:
 *
 * - every stored document goes through BSON serialisation and back, so values come back with the
 *   types the driver would return (ObjectId, Decimal128, Date, numbers), and whatever BSON cannot
 *   hold fails as it would on the wire;
 * - `findOneAndUpdate`, `updateOne` and `insertOne` are atomic per document (each runs to
 *   completion before any other call), and yield to the event loop first, so concurrent calls
 *   interleave between operations as they do against a server;
 * - unique indexes (with `partialFilterExpression`) and `_id` raise E11000 `MongoServerError`s;
 * - update documents are checked the way a server checks them: only update operators, or a
 *   pipeline of `$set`/`$addFields`/`$unset`/`$project`/`$replaceWith`/`$replaceRoot` stages, and
 *   `$inc` on a non-numeric value fails (the production bug that lost cast costs);
 * - Decimal128 arithmetic comes from mingo-decimal.ts, because mingo has none;
 * - `$$NOW` can be evaluated at a controllable server clock (`serverClock`), so leases and fences
 *   are provable, and any driver write can be made to fail once, before it reaches the data or
 *   after it landed (`failWrite`), so multi-write protocols can be crashed at every write.
 *
 * It also EMULATES what the change feed needs (fake-change-stream.ts): `db.command({ hello })`
 * answering as a standalone server, a replica set member or a mongos; an oplog of the fake's own
 * writes (insert, update, delete events, bounded like a real oplog); and `db.watch()` streams
 * over it with resume tokens, `startAfter`/`resumeAfter`, the pipeline run by mingo, history-lost
 * errors for a token the bounded oplog no longer reaches, and hooks to drop streams and fail polls.
 *
 * What this checks is MongoDB semantics as mingo implements them, not a MongoDB server.
 */
import { Aggregator } from 'mingo/aggregator';
import { Query } from 'mingo/query';
import { updateOne as mingoUpdateOne } from 'mingo/updater';
import type { Options } from 'mingo/types';
import { BSON, MongoBulkWriteError, MongoNetworkError, MongoServerError, ObjectId, type Db } from 'mongodb';
import { CHANGE_FEED_COMMENT } from '../../adapters/mongo/feed-loop.js';
import { FakeChangeStream, FakeOplog, type FakeTopology } from './fake-change-stream.js';
import { decimalContext } from './mingo-decimal.js';

type Stored = Record<string, unknown> & { _id?: unknown };
type Filter = Record<string, unknown>;
type SortSpec = Record<string, 1 | -1>;

const MINGO_OPTIONS: Partial<Options> = { context: decimalContext, idKey: '_id' };
const PIPELINE_STAGES = new Set(['$set', '$addFields', '$unset', '$project', '$replaceWith', '$replaceRoot']);
const UPDATE_OPERATORS = new Set(['$set', '$unset', '$inc', '$push', '$pull', '$addToSet', '$min', '$max', '$mul', '$rename', '$setOnInsert', '$pop', '$pullAll', '$currentDate']);

function sameBson(left: object, right: object): boolean {
  return Buffer.from(BSON.serialize(left as BSON.Document)).equals(Buffer.from(BSON.serialize(right as BSON.Document)));
}

export function roundTrip<T>(document: T): T {
  return BSON.deserialize(BSON.serialize(document as BSON.Document)) as T;
}

const compiled = new WeakMap<Filter, Query>();

/** A mingo query for `filter`; compiled once per filter object (index filters are reused on every write). */
function matcher(filter: Filter): Query {
  let query = compiled.get(filter);
  if (!query) {
    query = new Query(filter, MINGO_OPTIONS);
    compiled.set(filter, query);
  }
  return query;
}

function valueAt(document: unknown, path: string): unknown {
  let current = document;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Any stored `_id` as a key. */
function storedKey(value: unknown): string {
  return idKey(value) ?? `b:${Buffer.from(BSON.serialize({ id: value })).toString('base64')}`;
}

/** A plain `_id` value (ObjectId or string) as a comparable key; `null` for anything else (an operator object). */
function idKey(value: unknown): string | null {
  if (typeof value === 'string') return `s:${value}`;
  if (typeof value === 'object' && value !== null && (value as { _bsontype?: unknown })._bsontype === 'ObjectId') return `o:${String(value)}`;
  return null;
}

export function writeError(code: number, message: string, extra: Record<string, unknown> = {}): MongoServerError {
  return new MongoServerError({ message, code, errmsg: message, ...extra });
}

interface IndexEntry {
  readonly name: string;
  readonly key: Record<string, 1 | -1>;
  readonly unique: boolean;
  readonly partialFilterExpression?: Filter;
}

function indexName(key: Record<string, 1 | -1>): string {
  return Object.entries(key)
    .map(([field, direction]) => `${field}_${direction}`)
    .join('_');
}

function checkUpdateDocument(update: unknown): void {
  if (Array.isArray(update)) {
    for (const stage of update) {
      const keys = Object.keys(stage as object);
      if (keys.length !== 1 || !PIPELINE_STAGES.has(keys[0]!)) throw writeError(40324, `Unrecognized pipeline stage name in update: ${keys.join(',')}`);
    }
    return;
  }
  const keys = Object.keys(update as object);
  if (keys.length === 0) throw writeError(9, 'Update document requires atomic operators');
  for (const key of keys) if (!UPDATE_OPERATORS.has(key)) throw writeError(9, `Unknown modifier: ${key}. Expected a valid update modifier or pipeline-style update`);
}

function checkIncTargets(document: Stored, update: unknown): void {
  if (Array.isArray(update)) return;
  const increments = (update as { $inc?: Record<string, unknown> }).$inc;
  if (!increments) return;
  for (const path of Object.keys(increments)) {
    const current = valueAt(document, path);
    const numeric = current === undefined || typeof current === 'number' || ['Decimal128', 'Long', 'Int32', 'Double'].includes((current as { _bsontype?: string })?._bsontype ?? '');
    if (!numeric) throw writeError(14, `Cannot apply $inc to a value of non-numeric type ${current === null ? 'null' : typeof current}`);
  }
}

interface FindOptions {
  sort?: SortSpec;
  limit?: number;
  projection?: Record<string, unknown>;
  /** Shown in a server's logs; here, what `FakeDb.failNextPoll()` recognises the change feed's polls by. */
  comment?: string;
  /** How many documents a server returns per round trip; the fake returns them all at once. */
  batchSize?: number;
}

/** What a collection shares with its database: the oplog its writes go to, and injected query failures. */
interface FakeDbHooks {
  readonly oplog: FakeOplog;
  /** The error a query with these options must fail with, if one was injected. */
  injectedFailure(options: FindOptions): Error | null;
  /** Called around every write (insertOne, unordered insertMany, findOneAndUpdate, updateOne, deleteOne, deleteMany): throws an injected fault. */
  write(operation: string, moment: WriteFaultMoment): void;
  /** The server's clock, when the test controls it (`$$NOW`); `null`: mingo's own (the machine's). */
  now(): Date | null;
}

function mentionsNow(value: unknown): boolean {
  if (value === '$$NOW') return true;
  if (value === null || typeof value !== 'object' || value instanceof Date || (value as { _bsontype?: unknown })._bsontype !== undefined) return false;
  return Object.values(value as Record<string, unknown>).some(mentionsNow);
}

function replaceNow(value: unknown, now: Date): unknown {
  if (value === '$$NOW') return new Date(now.getTime());
  if (value === null || typeof value !== 'object' || value instanceof Date || (value as { _bsontype?: unknown })._bsontype !== undefined) return value;
  if (Array.isArray(value)) return value.map((item) => replaceNow(item, now));
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, inner]) => [key, replaceNow(inner, now)]));
}

/**
 * `$$NOW` in a filter or an update, evaluated at the fake server's clock: mingo reads `Date.now()`
 * for it, so a test that controls time (leases, fences) substitutes its own clock's instant.
 * (`{ $literal: '$$NOW' }` would be replaced too; the adapter never writes that.)
 */
function atServerTime<T>(hooks: FakeDbHooks | null, value: T): T {
  const now = hooks?.now() ?? null;
  if (now === null || !mentionsNow(value)) return value;
  return replaceNow(value, now) as T;
}

/** When an injected write fault fires: before the write reaches the data (it never happens), or after it landed (the reply is lost). */
export type WriteFaultMoment = 'before' | 'after';

/** The error an injected driver-write fault throws: a lost connection, as the driver reports one. */
export class InjectedWriteFault extends MongoNetworkError {
  constructor(
    readonly write: number,
    readonly operation: string,
    readonly moment: WriteFaultMoment,
  ) {
    super(`connection closed ${moment} write ${write} (${operation}) (emulated by FakeDb.failWrite)`);
  }
}

class FakeCursor {
  private sortSpec: SortSpec | undefined;
  private limitCount: number | undefined;
  private projection: Record<string, unknown> | undefined;

  constructor(
    private readonly source: (filter: Filter) => Stored[],
    private readonly filter: Filter,
    private readonly options: FindOptions = {},
    private readonly hooks: FakeDbHooks | null = null,
  ) {
    this.sortSpec = options.sort;
    this.limitCount = options.limit;
    this.projection = options.projection;
  }

  sort(spec: SortSpec): this {
    this.sortSpec = spec;
    return this;
  }

  limit(count: number): this {
    this.limitCount = count;
    return this;
  }

  project(projection: Record<string, unknown>): this {
    this.projection = projection;
    return this;
  }

  async toArray(): Promise<Stored[]> {
    await new Promise((resolve) => setImmediate(resolve));
    const failure = this.hooks?.injectedFailure(this.options) ?? null;
    if (failure !== null) throw failure;
    let cursor = matcher(this.filter).find(this.source(this.filter), this.projection);
    if (this.sortSpec) cursor = cursor.sort(this.sortSpec);
    if (this.limitCount !== undefined && this.limitCount > 0) cursor = cursor.limit(this.limitCount);
    return (cursor.all() as Stored[]).map(roundTrip);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Stored> {
    for (const document of await this.toArray()) yield document;
  }
}

export class FakeCollection {
  private documents: Stored[] = [];
  /** Position of each document by its _id: the fake's version of the _id index. */
  private positions = new Map<string, number>();
  /** For each unique index other than _id: key -> position. */
  private uniqueKeys = new Map<string, Map<string, number>>();
  private readonly indexes = new Map<string, IndexEntry>([['_id_', { name: '_id_', key: { _id: 1 }, unique: true }]]);

  constructor(
    readonly collectionName: string,
    private readonly hooks: FakeDbHooks | null = null,
  ) {}

  /** The stored documents, as the driver would return them (for tests). */
  snapshot(): Stored[] {
    return this.documents.map(roundTrip);
  }

  private async turn(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
  }

  /**
   * The documents a filter can match. Most calls name their document by _id: then only the
   * document with that id is handed to mingo, which still judges the whole filter; the outcome is
   * the same as testing every document, only faster (as the _id index is on a server).
   */
  private candidates(filter: Filter): Stored[] {
    const id = idKey(filter._id);
    if (id === null) return this.documents;
    const position = this.positions.get(id);
    return position === undefined ? [] : [this.documents[position]!];
  }

  private firstIndex(filter: Filter): number {
    const query = matcher(filter);
    const id = idKey(filter._id);
    if (id !== null) {
      const position = this.positions.get(id);
      return position !== undefined && query.test(this.documents[position]!) ? position : -1;
    }
    return this.documents.findIndex((document) => query.test(document));
  }

  /** The key a unique index gives a document, or `null` when the index does not cover it (partial). */
  private uniqueKey(index: IndexEntry, document: Stored): string | null {
    if (index.partialFilterExpression && !matcher(index.partialFilterExpression).test(document)) return null;
    const values = Object.keys(index.key).map((path) => valueAt(document, path) ?? null);
    return Buffer.from(BSON.serialize({ k: values })).toString('base64');
  }

  /** Rebuilds the _id positions and the unique indexes' keys (after a delete moves documents). */
  private reindex(): void {
    this.positions = new Map(this.documents.map((document, position) => [storedKey(document._id), position]));
    this.uniqueKeys = new Map();
    for (const index of this.indexes.values()) {
      if (!index.unique || index.name === '_id_') continue;
      const keys = new Map<string, number>();
      this.documents.forEach((document, position) => {
        const key = this.uniqueKey(index, document);
        if (key !== null) keys.set(key, position);
      });
      this.uniqueKeys.set(index.name, keys);
    }
  }

  /** Throws E11000 if `candidate`, stored at `position` (or appended when -1), would clash with another document. */
  private checkUnique(candidate: Stored, replacing: number): void {
    const clash = (index: IndexEntry, keyValue: Record<string, unknown>) => {
      throw writeError(11000, `E11000 duplicate key error collection: ${this.collectionName} index: ${index.name} dup key: ${JSON.stringify(keyValue)}`, {
        keyPattern: index.key,
        keyValue,
      });
    };
    const idPosition = this.positions.get(storedKey(candidate._id));
    if (idPosition !== undefined && idPosition !== replacing) clash(this.indexes.get('_id_')!, { _id: candidate._id });
    for (const index of this.indexes.values()) {
      if (!index.unique || index.name === '_id_') continue;
      const key = this.uniqueKey(index, candidate);
      const holder = key === null ? undefined : this.uniqueKeys.get(index.name)?.get(key);
      if (holder !== undefined && holder !== replacing) clash(index, Object.fromEntries(Object.keys(index.key).map((path) => [path, valueAt(candidate, path)])));
    }
  }

  /** Records `document` at `position` in the unique indexes, replacing `previous`'s keys. */
  private track(document: Stored, position: number, previous: Stored | null): void {
    this.positions.set(storedKey(document._id), position);
    for (const index of this.indexes.values()) {
      if (!index.unique || index.name === '_id_') continue;
      const keys = this.uniqueKeys.get(index.name)!;
      const old = previous === null ? null : this.uniqueKey(index, previous);
      if (old !== null && keys.get(old) === position) keys.delete(old);
      const key = this.uniqueKey(index, document);
      if (key !== null) keys.set(key, position);
    }
  }


  async insertOne(document: Stored): Promise<{ acknowledged: true; insertedId: unknown }> {
    await this.turn();
    this.hooks?.write(`${this.collectionName}.insertOne`, 'before');
    const result = this.insertNow(document);
    this.hooks?.write(`${this.collectionName}.insertOne`, 'after');
    return result;
  }

  private insertNow(document: Stored): { acknowledged: true; insertedId: unknown } {
    // The driver gives a document without an _id a fresh ObjectId before sending it.
    if (document._id === undefined) document._id = new ObjectId();
    const stored = roundTrip(document);
    this.checkUnique(stored, -1);
    this.documents.push(stored);
    this.track(stored, this.documents.length - 1, null);
    this.hooks?.oplog.record({ operationType: 'insert', coll: this.collectionName, before: null, after: stored });
    return { acknowledged: true, insertedId: stored._id };
  }

  /**
   * Ordered (the default): one insert after another, stopping at the first error, as before.
   * `ordered: false` is what the driver sends as ONE command: every document is tried, the
   * duplicates are skipped, and the failures come back together as a `MongoBulkWriteError`
   * whose `writeErrors` name each one (`code`, `index`), with `code` the first one's.
   */
  async insertMany(documents: Stored[], options: { readonly ordered?: boolean } = {}): Promise<{ acknowledged: true; insertedCount: number }> {
    if (options.ordered !== false) {
      for (const document of documents) await this.insertOne(document);
      return { acknowledged: true, insertedCount: documents.length };
    }
    await this.turn();
    this.hooks?.write(`${this.collectionName}.insertMany`, 'before');
    const writeErrors: { code: number; index: number; errmsg: string }[] = [];
    documents.forEach((document, index) => {
      try {
        this.insertNow(document);
      } catch (error) {
        if (!(error instanceof MongoServerError)) throw error;
        writeErrors.push({ code: error.code as number, index, errmsg: error.message });
      }
    });
    this.hooks?.write(`${this.collectionName}.insertMany`, 'after');
    const insertedCount = documents.length - writeErrors.length;
    if (writeErrors.length > 0) {
      const result = { insertedCount, getWriteConcernError: () => undefined };
      throw new MongoBulkWriteError({ message: writeErrors[0]!.errmsg, code: writeErrors[0]!.code, writeErrors } as never, result as never);
    }
    return { acknowledged: true, insertedCount };
  }

  async findOne(filter: Filter, options: { projection?: Record<string, unknown> } = {}): Promise<Stored | null> {
    filter = atServerTime(this.hooks, filter);
    const [first] = await new FakeCursor((given) => this.candidates(given), filter, { ...options, limit: 1 }, this.hooks).toArray();
    return first ?? null;
  }

  find(filter: Filter = {}, options: FindOptions = {}): FakeCursor {
    filter = atServerTime(this.hooks, filter);
    return new FakeCursor((given) => this.candidates(given), filter, options, this.hooks);
  }

  async countDocuments(filter: Filter = {}): Promise<number> {
    await this.turn();
    filter = atServerTime(this.hooks, filter);
    const query = matcher(filter);
    return this.documents.filter((document) => query.test(document)).length;
  }

  /** Applies `update` to the first match in one synchronous step; returns the images, or `null`. */
  private applyUpdate(filter: Filter, update: unknown): { before: Stored; after: Stored; modified: boolean } | null {
    filter = atServerTime(this.hooks, filter);
    update = atServerTime(this.hooks, update);
    checkUpdateDocument(update);
    const position = this.firstIndex(filter);
    if (position < 0) return null;
    const before = this.documents[position]!;
    checkIncTargets(before, update);
    let updated: Stored;
    if (Array.isArray(update)) {
      // A pipeline update is an aggregation pipeline run on the one document.
      const [output] = new Aggregator(update, MINGO_OPTIONS).run([roundTrip(before)]) as Stored[];
      updated = output!;
    } else {
      const working = [roundTrip(before)];
      mingoUpdateOne(working, {}, update as never, {}, MINGO_OPTIONS);
      updated = working[0]!;
    }
    const after = roundTrip(updated);
    if (!sameBson({ id: after._id }, { id: before._id })) {
      throw writeError(66, "Performing an update on the path '_id' would modify the immutable field '_id'");
    }
    this.checkUnique(after, position);
    this.documents[position] = after;
    this.track(after, position, before);
    // A server logs no oplog entry (so no change event) for an update that changed nothing.
    const modified = !sameBson(before, after);
    if (modified) this.hooks?.oplog.record({ operationType: 'update', coll: this.collectionName, before, after });
    // Stored documents are never mutated (each write stores a new one), so the images can be
    // handed out as they are; callers get their own copy from `copy()`.
    return { before, after, modified };
  }

  async findOneAndUpdate(filter: Filter, update: unknown, options: { returnDocument?: 'before' | 'after' } = {}): Promise<Stored | null> {
    await this.turn();
    this.hooks?.write(`${this.collectionName}.findOneAndUpdate`, 'before');
    const images = this.applyUpdate(filter, update);
    this.hooks?.write(`${this.collectionName}.findOneAndUpdate`, 'after');
    if (images === null) return null;
    return roundTrip(options.returnDocument === 'after' ? images.after : images.before);
  }

  async updateOne(filter: Filter, update: unknown): Promise<{ acknowledged: true; matchedCount: number; modifiedCount: number }> {
    await this.turn();
    this.hooks?.write(`${this.collectionName}.updateOne`, 'before');
    const images = this.applyUpdate(filter, update);
    this.hooks?.write(`${this.collectionName}.updateOne`, 'after');
    const modified = images !== null && images.modified;
    return { acknowledged: true, matchedCount: images === null ? 0 : 1, modifiedCount: modified ? 1 : 0 };
  }

  async bulkWrite(operations: { updateOne: { filter: Filter; update: unknown } }[]): Promise<{ matchedCount: number; modifiedCount: number }> {
    let matchedCount = 0;
    let modifiedCount = 0;
    for (const operation of operations) {
      if (!('updateOne' in operation)) throw new Error('the fake bulkWrite supports updateOne operations only');
      const result = await this.updateOne(operation.updateOne.filter, operation.updateOne.update);
      matchedCount += result.matchedCount;
      modifiedCount += result.modifiedCount;
    }
    return { matchedCount, modifiedCount };
  }

  async deleteOne(filter: Filter = {}): Promise<{ acknowledged: true; deletedCount: number }> {
    await this.turn();
    this.hooks?.write(`${this.collectionName}.deleteOne`, 'before');
    filter = atServerTime(this.hooks, filter);
    const position = this.firstIndex(filter);
    let deletedCount = 0;
    if (position >= 0) {
      const [deleted] = this.documents.splice(position, 1);
      this.reindex();
      this.hooks?.oplog.record({ operationType: 'delete', coll: this.collectionName, before: deleted!, after: null });
      deletedCount = 1;
    }
    this.hooks?.write(`${this.collectionName}.deleteOne`, 'after');
    return { acknowledged: true, deletedCount };
  }

  async deleteMany(filter: Filter = {}): Promise<{ acknowledged: true; deletedCount: number }> {
    await this.turn();
    this.hooks?.write(`${this.collectionName}.deleteMany`, 'before');
    const query = matcher(atServerTime(this.hooks, filter));
    const before = this.documents.length;
    const deleted = this.documents.filter((document) => query.test(document));
    this.documents = this.documents.filter((document) => !query.test(document));
    this.reindex();
    for (const document of deleted) this.hooks?.oplog.record({ operationType: 'delete', coll: this.collectionName, before: document, after: null });
    this.hooks?.write(`${this.collectionName}.deleteMany`, 'after');
    return { acknowledged: true, deletedCount: before - this.documents.length };
  }

  async createIndex(key: Record<string, 1 | -1>, options: { unique?: boolean; partialFilterExpression?: Filter; name?: string } = {}): Promise<string> {
    await this.turn();
    const name = options.name ?? indexName(key);
    const entry: IndexEntry = { name, key, unique: options.unique ?? false, partialFilterExpression: options.partialFilterExpression };
    const existing = this.indexes.get(name);
    if (existing) {
      if (JSON.stringify(existing) !== JSON.stringify(entry)) throw writeError(85, `An existing index has the same name as the requested index: ${name}`);
      return name;
    }
    if (entry.unique) {
      // Building a unique index over duplicates fails, as on a server.
      const seen = new Set<string>();
      for (const document of this.documents) {
        if (entry.partialFilterExpression && !matcher(entry.partialFilterExpression).test(document)) continue;
        const value = JSON.stringify(BSON.serialize({ k: Object.keys(key).map((path) => valueAt(document, path) ?? null) }));
        if (seen.has(value)) throw writeError(11000, `E11000 duplicate key error collection: ${this.collectionName} index: ${name}`);
        seen.add(value);
      }
    }
    this.indexes.set(name, entry);
    this.reindex();
    return name;
  }

  listIndexesCount(): number {
    return this.indexes.size;
  }

  listIndexes(): { toArray(): Promise<IndexEntry[]> } {
    return { toArray: async () => [...this.indexes.values()] };
  }

  /** Used by the fake Db's renameCollection. */
  renamed(to: string): FakeCollection {
    const moved = new FakeCollection(to, this.hooks);
    moved.documents = this.documents;
    moved.reindex();
    for (const [name, index] of this.indexes) moved.indexes.set(name, index);
    return moved;
  }
}

export interface FakeDbOptions {
  /** @default 'genledger-fake' */
  readonly databaseName?: string;
  /**
   * What `hello` says the server is. Only a replica set member or a mongos has change streams:
   * on a standalone one, `watch()` fails as a server fails it.
   * @default 'replicaSet'
   */
  readonly topology?: FakeTopology;
  /** Oplog entries kept for change streams to resume from (a real oplog is bounded by size). @default 1000 */
  readonly oplogSize?: number;
  /**
   * The server's clock: what `$$NOW` evaluates to in filters and update pipelines (and what
   * `hello` reports as `localTime`). Tie it to a test's manual clock to prove leases and fences.
   * @default the machine's clock
   */
  readonly serverClock?: () => Date;
}

export class FakeDb {
  private readonly collections = new Map<string, FakeCollection>();
  readonly databaseName: string;
  readonly topology: FakeTopology;
  private readonly oplog: FakeOplog;
  private readonly streams = new Set<FakeChangeStream>();
  private pollFailures = 0;
  /** Driver writes counted since the last `failWrite()` / `countWrites()`, and the one to fail. */
  private writes = 0;
  private writeFault: { readonly nth: number; readonly moment: WriteFaultMoment } | null = null;
  private firedFault: InjectedWriteFault | null = null;
  private serverClock: (() => Date) | null;
  /** Queries carrying the change feed's comment that the fake has answered or failed (its polls). */
  feedQueries = 0;
  private readonly hooks: FakeDbHooks;

  constructor(options: FakeDbOptions = {}) {
    this.databaseName = options.databaseName ?? 'genledger-fake';
    this.topology = options.topology ?? 'replicaSet';
    this.oplog = new FakeOplog(this.databaseName, options.oplogSize ?? 1000);
    this.serverClock = options.serverClock ?? null;
    this.hooks = {
      now: () => (this.serverClock === null ? null : this.serverClock()),
      oplog: this.oplog,
      injectedFailure: (options) => {
        if (options.comment !== CHANGE_FEED_COMMENT) return null;
        this.feedQueries += 1;
        if (this.pollFailures === 0) return null;
        this.pollFailures -= 1;
        return new MongoNetworkError('connection closed (emulated by FakeDb.failNextPoll)');
      },
      write: (operation, moment) => {
        if (moment === 'before') this.writes += 1;
        const fault = this.writeFault;
        if (fault === null || fault.nth !== this.writes || fault.moment !== moment) return;
        this.writeFault = null;
        this.firedFault = new InjectedWriteFault(this.writes, operation, moment);
        throw this.firedFault;
      },
    };
  }

  /** The `hello` command (and the older `isMaster`), answered for this fake's topology; other commands are not emulated. */
  async command(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    await new Promise((resolve) => setImmediate(resolve));
    if (!('hello' in command) && !('isMaster' in command)) throw new Error(`the fake Db emulates only the hello command, not ${JSON.stringify(command)}`);
    const reply: Record<string, unknown> = { isWritablePrimary: true, ismaster: true, maxWireVersion: 21, localTime: this.serverClock?.() ?? new Date(), ok: 1 };
    if (this.topology === 'replicaSet') Object.assign(reply, { setName: 'fake-rs', hosts: ['fake:27017'], primary: 'fake:27017' });
    if (this.topology === 'sharded') reply.msg = 'isdbgrid';
    return reply;
  }

  /** An emulated change stream over this database's oplog (see fake-change-stream.ts). */
  watch(pipeline: Record<string, unknown>[] = [], options: Record<string, unknown> = {}): FakeChangeStream {
    const stream = new FakeChangeStream(this.oplog, this.topology, pipeline, options, () => this.streams.delete(stream));
    this.streams.add(stream);
    return stream;
  }

  /**
   * Drops every open change stream as a lost connection does once the driver's own resume has
   * failed too: its pending or next read fails with a `MongoNetworkError` and it is closed.
   * Returns how many streams were dropped.
   */
  interruptChangeStreams(): number {
    const open = [...this.streams];
    for (const stream of open) stream.fail(new MongoNetworkError('connection closed (emulated by FakeDb.interruptChangeStreams)'));
    return open.length;
  }

  /** Makes the next change feed poll (a query carrying the feed's comment) fail with a `MongoNetworkError`. */
  failNextPoll(): void {
    this.pollFailures += 1;
  }

  /**
   * Counts driver writes from now on (insertOne, unordered insertMany, findOneAndUpdate, updateOne, deleteOne,
   * deleteMany, on any collection) and makes the `nth` fail: `before` it reaches the data (nothing
   * written), or `after` it landed (the reply lost), with an {@link InjectedWriteFault}, once.
   * `nth: null` only counts.
   */
  failWrite(plan: { readonly nth: number | null; readonly moment: WriteFaultMoment }): void {
    this.writes = 0;
    this.firedFault = null;
    this.writeFault = plan.nth === null ? null : { nth: plan.nth, moment: plan.moment };
  }

  /** Sets (or, with `null`, releases to the machine's clock) the server clock `$$NOW` reads. */
  setServerClock(clock: (() => Date) | null): void {
    this.serverClock = clock;
  }

  /** Driver writes since the last `failWrite()`. */
  get writeCount(): number {
    return this.writes;
  }

  /** The write fault that fired since the last `failWrite()`, if any. */
  get firedWriteFault(): InjectedWriteFault | null {
    return this.firedFault;
  }

  /** Whether a failure armed by `failNextPoll()` is still waiting for a poll. */
  get pollFailurePending(): boolean {
    return this.pollFailures > 0;
  }

  collection(name: string): FakeCollection {
    let collection = this.collections.get(name);
    if (!collection) {
      collection = new FakeCollection(name, this.hooks);
      this.collections.set(name, collection);
    }
    return collection;
  }

  /** Collections that hold documents or indexes (a collection exists once something was written to it). */
  private existing(): string[] {
    return [...this.collections.entries()].filter(([, collection]) => collection.snapshot().length > 0 || collection.listIndexesCount() > 1).map(([name]) => name);
  }

  listCollections(filter: { name?: string | { $in: string[] } } = {}): { toArray(): Promise<{ name: string; type: 'collection' }[]> } {
    return {
      toArray: async () =>
        this.existing()
          .filter((name) => matcher(filter).test({ name }))
          .map((name) => ({ name, type: 'collection' as const })),
    };
  }

  async renameCollection(from: string, to: string, options: { dropTarget?: boolean } = {}): Promise<FakeCollection> {
    await new Promise((resolve) => setImmediate(resolve));
    const names = this.existing();
    if (!names.includes(from)) throw writeError(26, `Source collection ${this.databaseName}.${from} does not exist`);
    if (names.includes(to) && !options.dropTarget) throw writeError(48, `Target collection ${this.databaseName}.${to} exists`);
    const moved = this.collection(from).renamed(to);
    this.collections.delete(from);
    this.collections.set(to, moved);
    return moved;
  }

  async dropDatabase(): Promise<boolean> {
    this.collections.clear();
    return true;
  }

  /** This fake as the driver's `Db` type: the adapter is typed against the driver and calls only what is implemented here. */
  asDb(): Db {
    return this as unknown as Db;
  }
}

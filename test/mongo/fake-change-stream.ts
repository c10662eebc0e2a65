/**
 * EMULATED change streams for the mingo-backed fake Db: not a server, and not the driver.
 *
 * - `FakeOplog` records the fake's own writes in order (insert, update, delete), each with a
 *   sequence number, and keeps the last `size` entries, as a real oplog keeps a bounded window.
 * - `FakeChangeStream` is what `FakeDb.watch(pipeline, options)` returns, with the driver's
 *   iterator surface the adapter uses: `tryNext()`, `next()`, `resumeToken`, `close()`, `closed`.
 *   Like the driver's, it does nothing until first read, and the server's answer then fixes its
 *   start: the newest entry, or the one after the `startAfter`/`resumeAfter` token.
 * - Change events have the server's shape for these operations: `_id` (the resume token:
 *   `{ _data }`, ordered like the oplog), `operationType`, `ns`, `documentKey`, `fullDocument` for an
 *   insert, `updateDescription` for an update. Unlike a server, `updatedFields` names whole
 *   top-level fields (a server names the changed paths inside arrays and subdocuments, e.g.
 *   `openSteps.2`), which is the same for a top-level scalar such as `version`.
 * - The stream's pipeline runs through mingo on each event; a pipeline that alters `_id` fails as on
 *   a server. Events the pipeline drops still move the stream, and its `resumeToken`, past them
 *   (the server's post-batch resume token).
 * - A token older than the kept window fails with ChangeStreamHistoryLost (286) when the stream
 *   opens, and a stream that falls behind the window fails with CappedPositionLost (136).
 * - A standalone fake refuses change streams as a standalone server does (40573).
 * - NOT emulated: events for dropping or renaming a collection or the database (`drop`, `rename`,
 *   `dropDatabase`, `invalidate`); `fullDocument` lookups; cluster times.
 * - NOT emulated: the driver's own transparent resume after a resumable error. `fail()` (what
 *   `FakeDb.interruptChangeStreams()` calls) makes the stream behave as a driver's stream does once
 *   that resume has failed as well: the error is thrown by the pending or next read, and the stream
 *   is closed. That is the case genledger's feed must handle itself.
 */
import { Aggregator } from 'mingo/aggregator';
import { BSON, MongoAPIError, MongoServerError } from 'mongodb';
import { decimalContext } from './mingo-decimal.js';

export type FakeTopology = 'standalone' | 'replicaSet' | 'sharded';

type Stored = Record<string, unknown> & { _id?: unknown };

export interface OplogWrite {
  readonly operationType: 'insert' | 'update' | 'delete';
  readonly coll: string;
  /** The stored document before the write (never mutated by the fake), or `null` for an insert. */
  readonly before: Stored | null;
  /** The stored document after the write, or `null` for a delete. */
  readonly after: Stored | null;
}

interface OplogEntry extends OplogWrite {
  readonly sequence: number;
}

const TOKEN_PREFIX = '82';

function tokenOf(sequence: number): { _data: string } {
  return { _data: TOKEN_PREFIX + sequence.toString(16).padStart(16, '0') };
}

function serverError(code: number, codeName: string, message: string): MongoServerError {
  return new MongoServerError({ message, code, codeName, errmsg: message });
}

function sequenceOf(token: unknown): number {
  const data = (token as { _data?: unknown } | null)?._data;
  if (typeof data !== 'string' || !new RegExp(`^${TOKEN_PREFIX}[0-9a-f]{16}$`).test(data)) {
    throw serverError(260, 'InvalidResumeToken', `Invalid resume token: ${JSON.stringify(token)}`);
  }
  return Number.parseInt(data.slice(TOKEN_PREFIX.length), 16);
}

function sameBson(left: unknown, right: unknown): boolean {
  return Buffer.from(BSON.serialize({ v: left })).equals(Buffer.from(BSON.serialize({ v: right })));
}

function roundTrip<T>(document: T): T {
  return BSON.deserialize(BSON.serialize(document as BSON.Document)) as T;
}

export class FakeOplog {
  private entries: OplogEntry[] = [];
  private sequence = 0;
  private readonly waiting = new Set<() => void>();

  constructor(
    readonly databaseName: string,
    /** Entries kept; older ones are dropped in batches, as a capped collection drops its oldest. */
    readonly size: number,
  ) {}

  record(write: OplogWrite): void {
    this.sequence += 1;
    this.entries.push({ ...write, sequence: this.sequence });
    if (this.entries.length >= this.size * 2) this.entries = this.entries.slice(-this.size);
    for (const wake of [...this.waiting]) wake();
  }

  get newest(): number {
    return this.sequence;
  }

  /** The oldest sequence number still kept (the newest + 1 when none is). */
  get oldest(): number {
    return this.entries[0]?.sequence ?? this.sequence + 1;
  }

  entry(sequence: number): OplogEntry | undefined {
    const first = this.entries[0];
    return first === undefined ? undefined : this.entries[sequence - first.sequence];
  }

  /** Resolves at the next write (or at once if `signal` fires first). */
  nextWrite(): { promise: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => {
      wake = () => {
        this.waiting.delete(wake);
        resolve();
      };
      this.waiting.add(wake);
    });
    return { promise, cancel: wake };
  }

  /** The change event a server would report for `entry`, before the stream's pipeline. */
  event(entry: OplogEntry): Stored {
    const document = entry.after ?? entry.before!;
    const event: Stored = {
      _id: tokenOf(entry.sequence),
      operationType: entry.operationType,
      ns: { db: this.databaseName, coll: entry.coll },
      documentKey: { _id: document._id },
    };
    if (entry.operationType === 'insert') event.fullDocument = entry.after;
    if (entry.operationType === 'update') {
      const before = entry.before!;
      const after = entry.after!;
      const updatedFields: Stored = {};
      for (const [field, value] of Object.entries(after)) if (!(field in before) || !sameBson(before[field], value)) updatedFields[field] = value;
      const removedFields = Object.keys(before).filter((field) => !(field in after));
      event.updateDescription = { updatedFields, removedFields, truncatedArrays: [] };
    }
    return roundTrip(event);
  }
}

const SUPPORTED_OPTIONS = new Set(['startAfter', 'resumeAfter', 'comment', 'batchSize', 'maxAwaitTimeMS']);

export class FakeChangeStream {
  /** The last oplog entry this stream has moved past; `null` until the first read opens it. */
  private position: number | null = null;
  private token: unknown;
  private isClosed = false;
  private failure: Error | null = null;
  private pending: { cancel: () => void } | null = null;
  private readonly aggregator: Aggregator;

  constructor(
    private readonly oplog: FakeOplog,
    private readonly topology: FakeTopology,
    pipeline: Record<string, unknown>[],
    private readonly options: Record<string, unknown>,
    private readonly onClose: () => void,
  ) {
    for (const option of Object.keys(options)) {
      if (!SUPPORTED_OPTIONS.has(option)) throw new Error(`the fake change stream does not emulate the ${option} option`);
    }
    if (options.startAfter !== undefined && options.resumeAfter !== undefined) {
      throw serverError(50865, 'Location50865', 'Do not specify both startAfter and resumeAfter');
    }
    this.aggregator = new Aggregator(pipeline, { context: decimalContext, idKey: '_id' });
  }

  /** The token to resume after what this stream has returned (as the driver caches it). */
  get resumeToken(): unknown {
    return this.token;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Makes the stream fail as a lost connection whose resume failed: the pending or next read throws `error`, then the stream is closed. */
  fail(error: Error): void {
    if (this.isClosed) return;
    this.failure = error;
    this.pending?.cancel();
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.onClose();
    this.pending?.cancel();
  }

  /** The next change event, or `null` when none is waiting (one getMore that came back empty). */
  async tryNext(): Promise<Stored | null> {
    await new Promise((resolve) => setImmediate(resolve));
    this.check();
    if (this.position === null) this.open();
    for (;;) {
      const sequence = this.position! + 1;
      if (sequence > this.oplog.newest) {
        this.token = tokenOf(this.position!);
        return null;
      }
      const entry = this.oplog.entry(sequence);
      if (entry === undefined) {
        this.closeWith();
        throw serverError(136, 'CappedPositionLost', `CollectionScan died due to position in capped collection being deleted. Last seen record id: ${sequence - 1}`);
      }
      this.position = sequence;
      const event = this.oplog.event(entry);
      const [output] = this.aggregator.run([event]) as Stored[];
      if (output === undefined) continue;
      if (!sameBson(output._id, event._id)) {
        this.closeWith();
        throw serverError(280, 'ChangeStreamFatalError', "Encountered an event whose _id field, which contains the resume token, was modified by the pipeline");
      }
      this.token = event._id;
      return output;
    }
  }

  /** Waits for the next change event (a driver's `next()` keeps issuing getMores). */
  async next(): Promise<Stored> {
    for (;;) {
      const waiting = this.oplog.nextWrite();
      this.pending = waiting;
      try {
        const event = await this.tryNext();
        if (event !== null) return event;
        await waiting.promise;
      } finally {
        waiting.cancel();
        this.pending = null;
      }
    }
  }

  private check(): void {
    if (this.failure !== null) {
      const failure = this.failure;
      this.failure = null;
      this.closeWith();
      throw failure;
    }
    if (this.isClosed) throw new MongoAPIError('ChangeStream is closed');
  }

  private closeWith(): void {
    void this.close();
  }

  /** What the server fixes when the stream's aggregate runs: where it starts. */
  private open(): void {
    if (this.topology === 'standalone') {
      this.closeWith();
      throw serverError(40573, 'Location40573', 'The $changeStream stage is only supported on replica sets');
    }
    const from = this.options.startAfter ?? this.options.resumeAfter;
    if (from === undefined) {
      this.position = this.oplog.newest;
      this.token = tokenOf(this.position);
      return;
    }
    const after = sequenceOf(from);
    if (after > this.oplog.newest) throw serverError(260, 'InvalidResumeToken', `resume token ${JSON.stringify(from)} is from the future of this oplog`);
    if (after + 1 < this.oplog.oldest) {
      this.closeWith();
      throw serverError(286, 'ChangeStreamHistoryLost', 'Resume of change stream was not possible, as the resume point may no longer be in the oplog.');
    }
    this.position = after;
    this.token = from;
  }
}

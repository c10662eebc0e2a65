/**
 * The PostgreSQL change feed behind `tracker.watch()`: LISTEN/NOTIFY for what happens while the
 * feed is connected, the change log (`<prefix>changes`, written by the same row trigger that
 * sends the NOTIFY, so by the very statement that made the write) for what it missed.
 *
 * Positions are transaction-id watermarks, not sequence numbers. A sequence value drawn by
 * transaction A may commit after one drawn later by B, so "resume after the last sequence number
 * seen" would skip A. A watermark W instead promises: every committed change of a transaction
 * whose id is below W has been delivered. Two things move it:
 *
 * - catching up: every log row with `tx >= W` is read in ONE snapshot S (a repeatable-read
 *   transaction), in sequence order; afterwards W may become S's xmin, because every transaction
 *   below S's xmin had ended when S was taken, so S saw everything they committed;
 * - a notification: its payload carries `x`, the xmin of the writing statement's snapshot capped
 *   by the writer's own id. Every transaction below it had ended before the writer wrote, so it
 *   committed before the writer did, and PostgreSQL delivers notifications in commit order: the
 *   listener has had all of theirs by the time it gets this one.
 *
 * A subscription listens before it reads anything, so a change committed after that is either in
 * the snapshot it reads next or notified to it; a notification of a transaction that snapshot saw
 * is dropped (the catch-up delivered it). Versions of one row are written one after another, each
 * after the previous one committed, so they commit, are logged (`seq`) and are notified in
 * version order. Within one subscription a record's versions therefore only go up, and a replayed
 * version (a reconnect re-reads from the watermark) is dropped; a new subscription resuming from a
 * saved position may deliver again changes at or above it, never skip one.
 */
import { createHash } from 'node:crypto';
import { ConflictError } from 'genledger';
import type { ChangeFeed, ChangeFeedOptions, ChangeKind, ChangeNotice, ChangeSubscription, Logger } from 'genledger/adapter';
import { defineStatement, sql, type Executor, type PostgresListenerClient, type PostgresNotification } from './client.js';
import { quoteIdentifier } from './migrate.js';
import { EXACT_TYPES, type Row } from './rows.js';

/** Options of the change feed: `postgresRepository(pool, { changeFeed: { ... } })`. */
export interface PostgresChangeFeedOptions {
  /**
   * Opens the feed's dedicated connection, one per subscription (one per `tracker.watch()`),
   * held for as long as it is open. It must reach the server directly: LISTEN does not work
   * through a pooler in transaction mode. The feed ends it when done.
   * @default () => pool.connect(), when the repository was given a `pg.Pool`
   */
  readonly connect?: (() => Promise<PostgresListenerClient>) | undefined;
  /**
   * How long changes stay in the change log, so a feed that was disconnected (or a watch resumed
   * from a saved position) can catch up. A position older than that is reported to the feed's
   * `onError` and the feed goes on from the oldest change kept.
   * @default 86_400_000 (24 hours)
   */
  readonly retentionMs?: number | undefined;
  /**
   * How often each open subscription prunes changes older than `retentionMs` (any process may;
   * they do not get in each other's way). `0`: never; call `repository.pruneChanges()` yourself.
   * @default 60_000
   */
  readonly pruneIntervalMs?: number | undefined;
  /** First wait before reconnecting a lost connection; doubled on each failure. @default 100 */
  readonly minReconnectDelayMs?: number | undefined;
  /** Longest wait between reconnection attempts. @default 10_000 */
  readonly maxReconnectDelayMs?: number | undefined;
  /**
   * How often the idle connection is asked `SELECT 1`; no answer by the next beat counts as a
   * lost connection (a silently dropped network path never raises an error by itself). `0`: off.
   * @default 30_000
   */
  readonly heartbeatMs?: number | undefined;
  /** Log rows fetched per round trip while catching up. @default 1000 */
  readonly catchUpBatch?: number | undefined;
  /**
   * `application_name` of the feed's connection, to find it in `pg_stat_activity`.
   * @default 'genledger feed ' + the channel, cut to 63 characters
   */
  readonly applicationName?: string | undefined;
}

/** The defaults of {@link PostgresChangeFeedOptions}. */
export const DEFAULT_POSTGRES_CHANGE_FEED_OPTIONS = {
  retentionMs: 86_400_000,
  pruneIntervalMs: 60_000,
  minReconnectDelayMs: 100,
  maxReconnectDelayMs: 10_000,
  heartbeatMs: 30_000,
  catchUpBatch: 1000,
} as const;

/** The NOTIFY channel of a schema and prefix, as the trigger of migration 0002 computes it. */
export function changeChannel(schema: string, tablePrefix: string): string {
  const name = `${schema}.${tablePrefix}changes`;
  return name.length <= 63 ? name : `genledger_${createHash('md5').update(name).digest('hex')}`;
}

/** What `pruneChanges()` did. */
export interface PruneReport {
  /** Log rows deleted. */
  readonly deleted: number;
}

/** The PostgreSQL change feed: `repository.changes`. */
export interface PostgresChangeFeed extends ChangeFeed {
  /** The NOTIFY channel (`<schema>.<prefix>changes`). */
  readonly channel: string;
  /** `application_name` of each subscription's connection. */
  readonly applicationName: string;
}

// ---------------------------------------------------------------------------------------------
// Snapshots and positions.

interface Snapshot {
  readonly xmin: bigint;
  readonly xmax: bigint;
  readonly running: ReadonlySet<bigint>;
}

/** `pg_current_snapshot()::text`: `xmin:xmax:xip,xip,...`. */
function parseSnapshot(text: string): Snapshot {
  const [xmin, xmax, running] = text.split(':');
  if (xmin === undefined || xmax === undefined || running === undefined) throw new Error(`[genledger] [postgres] unexpected snapshot "${text}"`);
  return { xmin: BigInt(xmin), xmax: BigInt(xmax), running: new Set(running === '' ? [] : running.split(',').map(BigInt)) };
}

/** Whether a committed transaction's changes are visible in `snapshot` (it committed before it). */
function committedBefore(tx: bigint, snapshot: Snapshot): boolean {
  return tx < snapshot.xmin || (tx < snapshot.xmax && !snapshot.running.has(tx));
}

const POSITION = /^(0|[1-9][0-9]{0,19})$/;
const MAX_XID8 = 2n ** 64n - 1n;

function parsePosition(position: string): bigint {
  const value = POSITION.test(position) ? BigInt(position) : -1n;
  if (value < 0n || value > MAX_XID8) {
    throw new ConflictError('after', `"${position}" is not a position this feed gave (PostgreSQL feed positions are transaction ids)`);
  }
  return value;
}

// 'account': logged by the trigger of migration 0007 on the accounts table.
const KINDS: ReadonlySet<string> = new Set<ChangeKind>(['generation', 'cast', 'cook', 'account']);

/** A notification as the trigger sends it; `id` is null when it was too long to send. */
interface Notified {
  readonly kind: ChangeKind;
  readonly id: string | null;
  readonly version: number;
  readonly tx: bigint;
  /** Every transaction below this had ended before this change was written. */
  readonly floor: bigint;
}

function parseNotification(payload: string | undefined): Notified | null {
  try {
    const value = JSON.parse(payload ?? '') as Record<string, unknown>;
    const { k: kind, i: id, v: version, t: tx, x: floor } = value;
    if (typeof kind !== 'string' || !KINDS.has(kind) || !Number.isSafeInteger(version)) return null;
    if (typeof tx !== 'string' || !POSITION.test(tx) || typeof floor !== 'string' || !POSITION.test(floor)) return null;
    if (id !== undefined && typeof id !== 'string') return null;
    return { kind: kind as ChangeKind, id: id ?? null, version: version as number, tx: BigInt(tx), floor: BigInt(floor) };
  } catch {
    return null;
  }
}

const max = (left: bigint, right: bigint) => (left > right ? left : right);

/** Records whose last delivered version a subscription remembers. */
const DELIVERED_MEMORY = 50_000;

// ---------------------------------------------------------------------------------------------
// Statements sent through the pool (pruning); the listener's own queries are below.

export interface ChangeLogTables {
  readonly changes: string;
  readonly changesHorizon: string;
}

export function buildChangeLogStatements(tables: ChangeLogTables) {
  return {
    /** The prune's cutoff (server time) and the lowest transaction with a change newer than it. */
    pruneBoundary: defineStatement('changes_prune_boundary', (param) => sql`
      WITH cutoff AS (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000) - ${param('retention_ms', 'bigint')} AS ms)
      SELECT cutoff.ms::bigint::text AS cutoff_ms,
        (SELECT c.tx::text FROM ${tables.changes} AS c
         WHERE c.recorded_at >= to_timestamp(cutoff.ms / 1000)
         ORDER BY c.tx, c.seq LIMIT 1) AS boundary
      FROM cutoff`),
    /**
     * Deletes a batch of rows below the boundary (all older than the cutoff) and raises the
     * horizon to the highest transaction deleted, in one statement: a reader that sees the rows
     * gone sees the horizon that says so.
     */
    pruneBatch: defineStatement('changes_prune_batch', (param) => {
      const boundary = `${param('boundary', 'text')}::xid8`;
      return sql`
      WITH doomed AS (
        SELECT c.tx, c.seq FROM ${tables.changes} AS c
        WHERE (${boundary} IS NULL OR c.tx < ${boundary})
          AND c.recorded_at < to_timestamp(${param('cutoff_ms', 'bigint')}::numeric / 1000)
        ORDER BY c.tx, c.seq
        LIMIT ${param('batch', 'integer')}
        FOR UPDATE SKIP LOCKED
      ),
      gone AS (
        DELETE FROM ${tables.changes} AS c USING doomed AS d
        WHERE c.tx = d.tx AND c.seq = d.seq
        RETURNING c.tx
      ),
      highest AS (SELECT tx FROM gone ORDER BY tx DESC LIMIT 1),
      raised AS (
        UPDATE ${tables.changesHorizon} AS h
        SET pruned_through = greatest(h.pruned_through, highest.tx), pruned_at = clock_timestamp()
        FROM highest
        RETURNING h.pruned_through
      )
      SELECT (SELECT count(*) FROM gone)::integer AS deleted`;
    }),
  };
}

/** Every logged change of a transaction at or above the watermark, in log order. */
export function catchUpSelect(changes: string, from: bigint): string {
  // `from` is a bigint this module parsed or computed, never text from outside.
  return `SELECT c.kind, c.id, c.version::text AS version, c.tx::text AS tx FROM ${changes} AS c
    WHERE c.tx >= '${from.toString()}'::xid8 ORDER BY c.seq`;
}

/** The catch-up cursor, read in batches within the catch-up's one snapshot. */
function catchUpQuery(changes: string, from: bigint): string {
  return `DECLARE genledger_catch_up NO SCROLL CURSOR FOR ${catchUpSelect(changes, from)}`;
}

/** What a subscription sends on its own connection (not through the pool), in the order it sends them. */
export function listenerStatements(names: { readonly channel: string; readonly changes: string; readonly changesHorizon: string }) {
  return {
    setApplicationName: 'SELECT set_config($1, $2, false)',
    listen: `LISTEN ${quoteIdentifier(names.channel)}`,
    firstSnapshot: 'SELECT pg_current_snapshot()::text AS snapshot',
    beginCatchUp: 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY',
    catchUpHead: `SELECT pg_current_snapshot()::text AS snapshot, (SELECT pruned_through::text FROM ${names.changesHorizon}) AS pruned_through`,
    declareCatchUp: (from: bigint) => catchUpQuery(names.changes, from),
    fetchCatchUp: (batch: number) => `FETCH FORWARD ${batch} FROM genledger_catch_up`,
    commit: 'COMMIT',
    rollback: 'ROLLBACK',
    heartbeat: 'SELECT 1',
  };
}

// ---------------------------------------------------------------------------------------------
// The feed.

export interface ChangeFeedSettings {
  readonly schema: string;
  readonly tablePrefix: string;
  readonly tables: ChangeLogTables;
  readonly executor: Executor;
  readonly connect: (() => Promise<PostgresListenerClient>) | null;
  readonly logger: Logger | undefined;
  readonly options: PostgresChangeFeedOptions;
}

interface ResolvedSettings {
  readonly channel: string;
  readonly applicationName: string;
  readonly tables: ChangeLogTables;
  readonly connect: () => Promise<PostgresListenerClient>;
  readonly logger: Logger | undefined;
  readonly retentionMs: number;
  readonly pruneIntervalMs: number;
  readonly minReconnectDelayMs: number;
  readonly maxReconnectDelayMs: number;
  readonly heartbeatMs: number;
  readonly catchUpBatch: number;
  prune(): Promise<PruneReport>;
}

export interface ChangeLog {
  readonly feed: PostgresChangeFeed;
  prune(retentionMs?: number): Promise<PruneReport>;
}

export function createChangeLog(settings: ChangeFeedSettings): ChangeLog {
  const given = settings.options;
  const defaults = DEFAULT_POSTGRES_CHANGE_FEED_OPTIONS;
  const options = {
    retentionMs: given.retentionMs ?? defaults.retentionMs,
    pruneIntervalMs: given.pruneIntervalMs ?? defaults.pruneIntervalMs,
    minReconnectDelayMs: given.minReconnectDelayMs ?? defaults.minReconnectDelayMs,
    maxReconnectDelayMs: given.maxReconnectDelayMs ?? defaults.maxReconnectDelayMs,
    heartbeatMs: given.heartbeatMs ?? defaults.heartbeatMs,
    catchUpBatch: given.catchUpBatch ?? defaults.catchUpBatch,
  };
  const channel = changeChannel(settings.schema, settings.tablePrefix);
  const applicationName = (given.applicationName ?? `genledger feed ${channel}`).slice(0, 63);
  const statements = buildChangeLogStatements(settings.tables);
  const batch = 10_000;

  async function prune(retentionMs: number = options.retentionMs): Promise<PruneReport> {
    const [head] = await settings.executor.rows(statements.pruneBoundary, { retention_ms: retentionMs });
    const boundary = (head?.boundary as string | null | undefined) ?? null;
    const cutoffMs = String(head?.cutoff_ms);
    let deleted = 0;
    for (;;) {
      const [row] = await settings.executor.rows(statements.pruneBatch, { boundary, cutoff_ms: cutoffMs, batch });
      const count = Number(row?.deleted ?? 0);
      deleted += count;
      if (count < batch) return { deleted };
    }
  }

  const connect =
    settings.connect ??
    (async (): Promise<PostgresListenerClient> => {
      throw new ConflictError(
        'changeFeed.connect',
        'the change feed needs a dedicated connection for LISTEN: give postgresRepository a pg.Pool, or options.changeFeed.connect',
      );
    });

  const resolved: ResolvedSettings = {
    channel,
    applicationName,
    tables: settings.tables,
    connect,
    logger: settings.logger,
    retentionMs: options.retentionMs,
    pruneIntervalMs: options.pruneIntervalMs,
    minReconnectDelayMs: options.minReconnectDelayMs,
    maxReconnectDelayMs: options.maxReconnectDelayMs,
    heartbeatMs: options.heartbeatMs,
    catchUpBatch: options.catchUpBatch,
    prune: () => prune(),
  };

  const feed: PostgresChangeFeed = {
    channel,
    applicationName,
    async subscribe(subscriber: ChangeFeedOptions): Promise<ChangeSubscription> {
      const subscription = new Subscription(resolved, subscriber);
      await subscription.start();
      return { close: () => subscription.close() };
    },
  };
  return { feed, prune };
}

interface Connection {
  readonly client: PostgresListenerClient;
  alive: boolean;
  heartbeat: ReturnType<typeof setInterval> | null;
  beatPending: boolean;
}

/**
 * One subscriber's feed: one connection at a time, replaced (after a back-off) whenever it fails,
 * each new one listening first and then catching up from the watermark.
 */
class Subscription {
  /** See the module comment; null until the first connection for a feed that starts "from now". */
  private watermark: bigint | null;
  /** For a feed that starts "from now": the snapshot at its start; what it saw is not reported. */
  private floor: Snapshot | null = null;
  /** The snapshot of the last catch-up: notifications of transactions it saw were delivered by it. */
  private caughtUpTo: Snapshot | null = null;
  private connection: Connection | null = null;
  /** Notifications held while catching up, delivered after it in arrival (commit) order. */
  private held: Notified[] | null = null;
  private opening = false;
  private closed = false;
  private failures = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pruneTimer: ReturnType<typeof setInterval> | null = null;
  private pruning = false;
  private connecting: Promise<void> | null = null;
  /**
   * The last version delivered per record (the most recent {@link DELIVERED_MEMORY} records), so
   * a catch-up that replays changes already delivered live skips them: within one subscription a
   * record's versions only go up.
   */
  private readonly delivered = new Map<string, number>();
  private readonly sql: ReturnType<typeof listenerStatements>;

  constructor(
    private readonly settings: ResolvedSettings,
    private readonly subscriber: ChangeFeedOptions,
  ) {
    this.watermark = subscriber.after === undefined ? null : parsePosition(subscriber.after);
    this.sql = listenerStatements({ channel: settings.channel, ...settings.tables });
  }

  async start(): Promise<void> {
    await this.open();
    if (this.settings.pruneIntervalMs > 0) {
      this.pruneTimer = setInterval(() => this.prune(), this.settings.pruneIntervalMs);
      this.pruneTimer.unref?.();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    const connection = this.connection;
    this.connection = null;
    this.held = null;
    if (connection) this.dispose(connection);
    await this.connecting?.catch(() => undefined);
  }

  private open(): Promise<void> {
    const opening = this.connectAndCatchUp();
    this.connecting = opening;
    void opening.catch(() => undefined).then(() => {
      if (this.connecting === opening) this.connecting = null;
    });
    return opening;
  }

  /** Connects, LISTENs, then catches up; notifications arriving meanwhile wait in `held`. */
  private async connectAndCatchUp(): Promise<void> {
    this.opening = true;
    try {
      const client = await this.settings.connect();
      const connection: Connection = { client, alive: true, heartbeat: null, beatPending: false };
      client.on('error', (error) => this.lost(connection, error));
      client.on('end', () => this.lost(connection, new Error('[genledger] [postgres] the change feed connection ended')));
      client.on('notification', (message) => this.notified(connection, message));
      if (this.closed) {
        this.dispose(connection);
        return;
      }
      this.connection = connection;
      this.held = [];
      try {
        await client.query({ text: this.sql.setApplicationName, values: ['application_name', this.settings.applicationName] });
        // LISTEN before reading anything: a change committed from here on is either in the
        // snapshot read next, or notified to this connection.
        await client.query({ text: this.sql.listen });
        if (this.watermark === null) {
          const [row] = (await client.query({ text: this.sql.firstSnapshot, types: EXACT_TYPES })).rows;
          const snapshot = parseSnapshot(String(row?.snapshot));
          this.floor = snapshot;
          this.caughtUpTo = snapshot;
          this.watermark = snapshot.xmin;
        } else {
          await this.catchUp(connection);
        }
        if (!connection.alive) throw new Error('[genledger] [postgres] the change feed connection was lost while catching up');
        this.release(connection);
        this.failures = 0;
        this.startHeartbeat(connection);
      } catch (error) {
        this.lost(connection, error);
        throw error;
      }
    } finally {
      this.opening = false;
    }
  }

  /**
   * Delivers every logged change of a transaction at or above the watermark, read in one
   * repeatable-read snapshot, then moves the watermark to that snapshot's xmin.
   */
  private async catchUp(connection: Connection): Promise<void> {
    const { client } = connection;
    const from = this.watermark!;
    await client.query({ text: this.sql.beginCatchUp });
    try {
      const [head] = (
        await client.query({
          text: this.sql.catchUpHead,
          types: EXACT_TYPES,
        })
      ).rows;
      const snapshot = parseSnapshot(String(head?.snapshot));
      if (from > snapshot.xmax) {
        throw new ConflictError('after', `"${from}" is not a position this feed gave: no transaction of this database has reached it`);
      }
      const pruned = head?.pruned_through === null || head?.pruned_through === undefined ? 0n : BigInt(String(head.pruned_through));
      if (from <= pruned && pruned > 0n) {
        this.report(
          new Error(
            `[genledger] [postgres] the change log no longer holds every change after position ${from} (pruned through transaction ${pruned}, ` +
              `retention ${this.settings.retentionMs} ms): changes made while this feed was away may be missing; it goes on from the oldest change kept`,
          ),
        );
      }
      await client.query({ text: this.sql.declareCatchUp(from) });
      // The last row is delivered after the watermark moves, so it carries the new position.
      let last: Row | undefined;
      for (;;) {
        const { rows } = await client.query({ text: this.sql.fetchCatchUp(this.settings.catchUpBatch), types: EXACT_TYPES });
        if (this.closed || !connection.alive) throw new Error('[genledger] [postgres] catching up was interrupted');
        for (const row of rows) {
          if (last) this.deliverLogged(last, from);
          last = row;
        }
        if (rows.length < this.settings.catchUpBatch) break;
      }
      await client.query({ text: this.sql.commit });
      this.watermark = max(from, snapshot.xmin);
      this.caughtUpTo = snapshot;
      if (last) this.deliverLogged(last, this.watermark);
    } catch (error) {
      if (connection.alive) await client.query({ text: this.sql.rollback }).catch(() => undefined);
      throw error;
    }
  }

  private deliverLogged(row: Row, position: bigint): void {
    const tx = BigInt(String(row.tx));
    if (this.floor && committedBefore(tx, this.floor)) return;
    this.emit({ kind: row.kind as ChangeKind, id: String(row.id), version: Number(row.version), position: position.toString() });
  }

  private notified(connection: Connection, message: PostgresNotification): void {
    if (this.closed || connection !== this.connection || !connection.alive) return;
    if (message.channel !== this.settings.channel) return;
    const notice = parseNotification(message.payload);
    if (!notice) {
      this.report(new Error(`[genledger] [postgres] the change feed received a notification it cannot read: ${String(message.payload).slice(0, 200)}`));
      return;
    }
    if (this.held) this.held.push(notice);
    else this.deliverNotified(connection, notice);
  }

  /** Delivers what arrived while catching up, in arrival order (a resync may start holding again). */
  private release(connection: Connection): void {
    const held = this.held ?? [];
    this.held = null;
    for (const notice of held) {
      if (this.held) (this.held as Notified[]).push(notice);
      else this.deliverNotified(connection, notice);
    }
  }

  private deliverNotified(connection: Connection, notice: Notified): void {
    if (this.floor && committedBefore(notice.tx, this.floor)) return;
    if (this.caughtUpTo && committedBefore(notice.tx, this.caughtUpTo)) return;
    if (notice.id === null) {
      // The id did not fit in the payload: read this change (and anything after it) from the log.
      this.resync(connection);
      return;
    }
    this.watermark = max(this.watermark ?? 0n, notice.floor);
    this.emit({ kind: notice.kind, id: notice.id, version: notice.version, position: this.watermark.toString() });
  }

  private resync(connection: Connection): void {
    this.held = [];
    this.catchUp(connection).then(
      () => this.release(connection),
      (error: unknown) => this.lost(connection, error),
    );
  }

  private emit(notice: ChangeNotice): void {
    if (this.closed) return;
    const key = `${notice.kind}:${notice.id}`;
    const previous = this.delivered.get(key);
    if (previous !== undefined && previous >= notice.version) return;
    this.delivered.delete(key);
    this.delivered.set(key, notice.version);
    if (this.delivered.size > DELIVERED_MEMORY) this.delivered.delete(this.delivered.keys().next().value!);
    try {
      this.subscriber.onChange(notice);
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    try {
      this.subscriber.onError(error);
    } catch {
      // onError must not throw; if it does, there is no one left to tell.
    }
  }

  private startHeartbeat(connection: Connection): void {
    if (this.settings.heartbeatMs <= 0) return;
    connection.heartbeat = setInterval(() => {
      if (!connection.alive || this.held) return;
      if (connection.beatPending) {
        this.lost(connection, new Error(`[genledger] [postgres] the change feed connection did not answer within ${this.settings.heartbeatMs} ms`));
        return;
      }
      connection.beatPending = true;
      connection.client.query({ text: this.sql.heartbeat }).then(
        () => {
          connection.beatPending = false;
        },
        (error: unknown) => this.lost(connection, error),
      );
    }, this.settings.heartbeatMs);
    connection.heartbeat.unref?.();
  }

  /** A connection failed (or must be given up): drop it and, unless closing, reconnect later. */
  private lost(connection: Connection, error: unknown): void {
    if (!connection.alive) return;
    this.dispose(connection);
    if (this.connection !== connection) return;
    this.connection = null;
    this.held = null;
    if (this.closed || this.opening) return;
    this.settings.logger?.warn('[genledger] [postgres] the change feed lost its connection; reconnecting and catching up', { error });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const { minReconnectDelayMs, maxReconnectDelayMs } = this.settings;
    const ceiling = Math.min(maxReconnectDelayMs, minReconnectDelayMs * 2 ** Math.min(this.failures, 30));
    // Jitter, so that many processes that lost the server together do not return together.
    const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open().catch((error: unknown) => {
        if (this.closed) return;
        this.failures += 1;
        this.settings.logger?.warn('[genledger] [postgres] the change feed could not reconnect; trying again', { error, failures: this.failures });
        if (this.failures === 1) {
          this.report(
            new Error('[genledger] [postgres] the change feed is disconnected and could not reconnect yet; it keeps trying, and catches up when it does', {
              cause: error,
            }),
          );
        }
        this.scheduleReconnect();
      });
    }, delay);
  }

  private dispose(connection: Connection): void {
    if (!connection.alive) return;
    connection.alive = false;
    if (connection.heartbeat) clearInterval(connection.heartbeat);
    const { client } = connection;
    // Errors from a connection being torn down are expected; the listener keeps them unhandled-free.
    client.on('error', () => undefined);
    try {
      if (client.release) client.release(true);
      else void client.end?.().catch(() => undefined);
    } catch {
      // Already released or ended.
    }
  }

  private prune(): void {
    if (this.pruning || this.closed) return;
    this.pruning = true;
    this.settings
      .prune()
      .catch((error: unknown) => this.settings.logger?.warn('[genledger] [postgres] pruning the change log failed; the next interval tries again', { error }))
      .finally(() => {
        this.pruning = false;
      });
  }
}

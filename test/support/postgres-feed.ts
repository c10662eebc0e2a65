/**
 * Helpers for testing the PostgreSQL change feed at the port level: a subscriber that records
 * every notice and error, waiting without timing assertions, and a connection factory that can be
 * held shut (to keep the feed disconnected while the test writes) or made to stop answering.
 */
import type pg from 'pg';
import type { PostgresListenerClient, PostgresQueryConfig } from '../../adapters/postgres/index.js';
import type { ChangeFeedOptions, ChangeNotice } from '../../src/port.js';

export interface Recorder {
  readonly notices: ChangeNotice[];
  readonly errors: unknown[];
  readonly options: Pick<ChangeFeedOptions, 'onChange' | 'onError'>;
  /** Versions delivered per `kind:id`, in arrival order. */
  versions(): Map<string, number[]>;
}

export function recorder(): Recorder {
  const notices: ChangeNotice[] = [];
  const errors: unknown[] = [];
  return {
    notices,
    errors,
    options: { onChange: (notice) => void notices.push(notice), onError: (error) => void errors.push(error) },
    versions() {
      const byRecord = new Map<string, number[]>();
      for (const notice of notices) {
        const key = `${notice.kind}:${notice.id}`;
        byRecord.set(key, [...(byRecord.get(key) ?? []), notice.version]);
      }
      return byRecord;
    },
  };
}

/** Waits until `condition` holds; fails with `what` after `timeoutMs` (a hang guard, not a timing assertion). */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface ControlledConnections {
  readonly connect: () => Promise<PostgresListenerClient>;
  /** Connections handed out so far. */
  readonly opened: () => number;
  /** New connections wait until `open()`. */
  hold(): void;
  open(): void;
  /** The connections handed out so far stop answering `SELECT 1` (as over a dead network path). */
  silence(): void;
}

/** Listener connections from `pool`, which the test can hold back or silence. */
export function controlledConnections(pool: pg.Pool): ControlledConnections {
  let gate: { promise: Promise<void>; release: () => void } | null = null;
  let opened = 0;
  let silencedThrough = 0;
  return {
    async connect() {
      while (gate) await gate.promise;
      const client = await pool.connect();
      opened += 1;
      const index = opened;
      const query = client.query.bind(client) as (config: PostgresQueryConfig) => Promise<{ rows: Record<string, unknown>[] }>;
      // The feed's heartbeat is `SELECT 1`; a silenced connection never answers it.
      const wrapped = Object.assign(client, {
        query: (config: PostgresQueryConfig) => (index <= silencedThrough && config.text === 'SELECT 1' ? new Promise<never>(() => {}) : query(config)),
      });
      return wrapped as unknown as PostgresListenerClient;
    },
    opened: () => opened,
    hold() {
      let release = () => {};
      const promise = new Promise<void>((resolve) => (release = resolve));
      gate = { promise, release };
    },
    open() {
      const current = gate;
      gate = null;
      current?.release();
    },
    silence() {
      silencedThrough = opened;
    },
  };
}

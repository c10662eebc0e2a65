/**
 * `repository.changes`: the change feed behind `tracker.watch()`, across processes.
 *
 * On a replica set or a sharded cluster it reads MongoDB change streams (change-streams.ts): one
 * `db.watch()` over the adapter's three collections, each notice positioned by its event's resume
 * token. A standalone server has no change streams (they read the oplog, which only replica set
 * members keep), so there it polls the collections by `updatedAt` (polling.ts), after one warning.
 * Which one is decided once per repository, at the first subscription, from the server's `hello`
 * reply, unless `changeFeed.mode` says.
 *
 * Reconnecting is the feed's own job: a dropped stream or a failed poll is retried with a growing
 * wait, from the last position delivered, so nothing is missed; the logger hears about it. Errors it
 * cannot recover from go to the subscriber's `onError`, and it keeps trying.
 */
import type { Db, Document } from 'mongodb';
import { ConflictError } from 'genledger';
import type { ChangeFeed, ChangeFeedOptions, ChangeSubscription } from 'genledger/adapter';
import { subscribeToChangeStreams } from './change-streams.js';
import { codeOf, type FeedContext } from './feed-loop.js';
import { readPosition } from './feed-position.js';
import { subscribeByPolling } from './polling.js';

/** How a feed reads changes, once decided. */
export type ResolvedChangeFeedMode = 'changeStreams' | 'polling';

/** The MongoDB change feed: the port's `ChangeFeed`, and how it reads changes. @experimental */
export interface MongoChangeFeed extends ChangeFeed {
  /**
   * `'changeStreams'` or `'polling'`: `changeFeed.mode`, or, for `'auto'`, what the server's
   * topology allows (asked once, with the `hello` command; a standalone server means polling).
   */
  mode(): Promise<ResolvedChangeFeedMode>;
}

async function topologyAllowsChangeStreams(db: Db): Promise<{ allowed: boolean; what: string }> {
  let hello: Document;
  try {
    hello = await db.command({ hello: 1 });
  } catch (error) {
    // 59 CommandNotFound: a server older than `hello` (4.4.2); `isMaster` says the same.
    if (codeOf(error) !== 59) throw error;
    hello = await db.command({ isMaster: 1 });
  }
  if (typeof hello.setName === 'string') return { allowed: true, what: `a member of replica set "${hello.setName}"` };
  if (hello.msg === 'isdbgrid') return { allowed: true, what: 'a mongos router of a sharded cluster' };
  return { allowed: false, what: 'a standalone mongod (no replica set)' };
}

/** The feed of one repository. Nothing happens until the first `mode()` or `subscribe()`. */
export function createChangeFeed(context: FeedContext): MongoChangeFeed {
  const { settings, names, logger } = context;
  let decided: Promise<{ mode: ResolvedChangeFeedMode; fallback: string | null }> | null = null;
  let warned = false;

  async function decide(): Promise<{ mode: ResolvedChangeFeedMode; fallback: string | null }> {
    if (settings.mode !== 'auto') return { mode: settings.mode, fallback: null };
    const topology = await topologyAllowsChangeStreams(context.db);
    return topology.allowed ? { mode: 'changeStreams', fallback: null } : { mode: 'polling', fallback: topology.what };
  }

  function decision() {
    if (decided === null) {
      decided = decide();
      // A failed `hello` (server unreachable) is asked again next time.
      decided.catch(() => (decided = null));
    }
    return decided;
  }

  /** The fallback is told once per repository, at the first subscription that polls because of it. */
  function warnOnce(what: string): void {
    if (warned) return;
    warned = true;
    logger.warn(
      `[genledger] [mongo] change feed: the server is ${what}, and MongoDB change streams need a replica set or a sharded cluster, ` +
        `so repository.changes (tracker.watch()) polls ${names.generations}, ${names.casts} and ${names.cooks} by updatedAt instead, every ${settings.pollIntervalMs} ms. ` +
        `Polling sees a write only if its updatedAt is at most ${settings.pollOverlapMs} ms (changeFeed.pollOverlapMs) behind the newest one already read, and re-reads that window on every poll. ` +
        `Run MongoDB as a replica set (a single member will do) to get change streams, or set changeFeed.mode to 'polling' to choose polling without this warning. See docs/mongodb.md, "The change feed".`,
    );
  }

  return {
    mode: async () => (await decision()).mode,
    async subscribe(options: ChangeFeedOptions): Promise<ChangeSubscription> {
      const after = options.after === undefined ? undefined : readPosition(options.after);
      const { mode: resolved, fallback } = await decision();
      if (fallback !== null) warnOnce(fallback);
      if (after !== undefined && after.mode !== resolved) {
        const made = after.mode === 'changeStreams' ? 'a change stream' : 'polling';
        const reads = resolved === 'changeStreams' ? 'change streams' : 'polling';
        throw new ConflictError(
          'after',
          `mongo change feed position "${options.after}" was made by ${made}, and this feed reads ${reads}: the two cannot resume each other. Subscribe without \`after\` (from now).`,
        );
      }
      if (resolved === 'changeStreams') return subscribeToChangeStreams(context, options, after?.mode === 'changeStreams' ? after.token : undefined);
      return subscribeByPolling(context, options, after?.mode === 'polling' ? after.watermarks : undefined);
    },
  };
}

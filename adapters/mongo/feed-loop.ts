/**
 * What the two ways of reading changes share: their context, how failures are told apart, and the
 * loop that runs one subscription, retrying with a growing wait after a failure.
 */
import { MongoErrorLabel, MongoNetworkError, MongoServerSelectionError, type Db } from 'mongodb';
import type { ChangeKind, Logger, ChangeFeedOptions, ChangeNotice } from 'genledger/adapter';
import type { MongoChangeFeedOptions, MongoCollectionNames } from './options.js';

/** Sent as the `comment` of the feed's change stream and poll queries: they can be told apart in the server's logs and `$currentOp`. */
export const CHANGE_FEED_COMMENT = 'genledger change feed';

/** What both ways of reading changes need. */
export interface FeedContext {
  readonly db: Db;
  readonly names: MongoCollectionNames;
  readonly settings: Required<MongoChangeFeedOptions>;
  readonly logger: Logger;
}

/** The kind of record each collection holds: the records', and the accounts' (whose `_id` is the account id). */
export function kindsByCollection(names: MongoCollectionNames): Map<string, ChangeKind> {
  return new Map<string, ChangeKind>([
    [names.generations, 'generation'],
    [names.casts, 'cast'],
    [names.cooks, 'cook'],
    [names.accounts, 'account'],
  ]);
}

export function codeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The server no longer has the changes after the position (the oplog moved past it):
 * ChangeStreamHistoryLost (286), CappedPositionLost (136), or, from older servers,
 * ChangeStreamFatalError (280) saying the resume point is no longer in the oplog.
 */
export function isHistoryLost(error: unknown): boolean {
  const code = codeOf(error);
  if (code === 286 || code === 136) return true;
  return code === 280 && /oplog/i.test(error instanceof Error ? error.message : '');
}

/**
 * Failures that reconnecting is expected to cure: network errors, no reachable server, and the
 * server errors the change streams specification calls resumable (elections, shutdowns, a killed
 * or lost cursor).
 */
const TRANSIENT_CODES = new Set([6, 7, 43, 63, 89, 91, 133, 150, 189, 234, 237, 262, 9001, 10107, 11600, 11601, 11602, 13388, 13435, 13436]);

export function isTransient(error: unknown): boolean {
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true;
  const labelled = error as { hasErrorLabel?: (label: string) => boolean } | null;
  if (typeof labelled?.hasErrorLabel === 'function' && labelled.hasErrorLabel(MongoErrorLabel.ResumableChangeStreamError)) return true;
  const code = codeOf(error);
  return code !== undefined && TRANSIENT_CODES.has(code);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One subscription's run: steps until closed; after a failed step, waits longer each time before the next. */
export interface FeedLoop {
  readonly closed: boolean;
  /** Hands a notice to the subscriber; a subscriber that throws is told through `onError`. */
  deliver(notice: ChangeNotice): void;
  /** Waits `ms`, or less if the subscription closes meanwhile. */
  pause(ms: number): Promise<void>;
  /** Starts stepping (once). */
  run(steps: LoopSteps): void;
  /** Stops the loop: `interrupt` (closing a change stream) ends a step that is waiting; resolves when the loop has ended. */
  close(interrupt: () => Promise<void>): Promise<void>;
}

export interface LoopSteps {
  /** What the loop does, for messages: "the change stream", "polling". */
  readonly what: string;
  /** One step: read and deliver what changed. Throws on a failure. */
  step(): Promise<void>;
  /**
   * Called with each failure before the wait, to drop what failed and decide where to resume.
   * Returns `true` when it has reported the failure itself (the position is lost).
   */
  recover(error: unknown): Promise<boolean>;
}

export function createLoop(context: FeedContext, subscriber: ChangeFeedOptions): FeedLoop {
  let closed = false;
  let wake: (() => void) | null = null;
  let ended: Promise<void> = Promise.resolve();

  async function run({ what, step, recover }: LoopSteps): Promise<void> {
    let failures = 0;
    while (!closed) {
      try {
        await step();
        failures = 0;
      } catch (error) {
        if (closed) break;
        failures += 1;
        const delay = Math.min(context.settings.reconnectDelayMs * 2 ** Math.min(failures - 1, 30), context.settings.maxReconnectDelayMs);
        let reported = false;
        try {
          reported = await recover(error);
        } catch (cleanupError) {
          context.logger.warn(`[genledger] [mongo] change feed: cleaning up after a failure failed too (${describe(cleanupError)})`, { error: cleanupError });
        }
        if (!reported) {
          if (isTransient(error)) {
            context.logger.warn(`[genledger] [mongo] change feed: ${what} failed (${describe(error)}); resuming after the last change delivered in ${delay} ms`, { error });
          } else {
            subscriber.onError(new Error(`[genledger] [mongo] change feed: ${what} failed: ${describe(error)}; trying again after the last change delivered in ${delay} ms`, { cause: error }));
          }
        }
        await loop.pause(delay);
      }
    }
  }

  const loop: FeedLoop = {
    get closed() {
      return closed;
    },
    deliver(notice) {
      try {
        subscriber.onChange(notice);
      } catch (error) {
        subscriber.onError(new Error(`[genledger] [mongo] a change feed subscriber's onChange threw on ${notice.kind} "${notice.id}" version ${notice.version}`, { cause: error }));
      }
    },
    pause(ms) {
      if (closed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = null;
          resolve();
        }, ms);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      });
    },
    run(steps) {
      ended = run(steps);
    },
    async close(interrupt) {
      if (closed) return ended;
      closed = true;
      wake?.();
      await interrupt();
      await ended;
    },
  };
  return loop;
}

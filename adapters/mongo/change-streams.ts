/**
 * The change feed on MongoDB change streams: one `db.watch()` over the adapter's three record
 * collections and its accounts (every account write sets the account's `version`, as a record's does).
 *
 * - The server filters and trims the events (`$match` on the collections and on insert, update,
 *   replace; `$project` down to the ids and `version`), so a notice costs a few bytes whatever the
 *   document holds. The subscriber reads the record itself.
 * - A notice's version is the one the write stored: `fullDocument.version` of an insert or a
 *   replacement, `updateDescription.updatedFields.version` of an update. Every genledger write
 *   bumps `version`; an update that leaves it alone (another program's write, the legacy backfill)
 *   is not a genledger change and is not reported. Deletes are not reported (genledger never
 *   deletes; a deleted record has nothing to read).
 * - A notice's position is the event's resume token. The driver resumes a stream by itself after
 *   the errors the change streams specification calls resumable; when it gives up (the server stays
 *   unreachable), this feed opens a new stream with `startAfter` the last token it delivered (or
 *   the token the server gave for an empty batch), so nothing between is missed or repeated.
 *   A later subscriber passing `after` starts the same way.
 * - A token the oplog no longer reaches (the subscriber was away longer than the oplog window) is
 *   reported through `onError`, and the feed goes on from now: what happened in between is lost to it.
 */
import type { ChangeStream, ChangeStreamDocument, ChangeStreamOptions, ResumeToken } from 'mongodb';
import type { ChangeFeedOptions, ChangeNotice, ChangeSubscription } from 'genledger/adapter';
import { readVersion } from './documents.js';
import { CHANGE_FEED_COMMENT, createLoop, isHistoryLost, kindsByCollection, type FeedContext } from './feed-loop.js';
import { streamPosition } from './feed-position.js';
import { fromStoredId, type StoredDocument } from './ids.js';

type Change = ChangeStreamDocument<StoredDocument>;

/** The notice for one change event, without its position; `null` for events that are not a genledger change. */
export function noticeOf(change: Change, kinds: ReadonlyMap<string, ChangeNotice['kind']>): Omit<ChangeNotice, 'position'> | null {
  let rawVersion: unknown;
  switch (change.operationType) {
    case 'insert':
    case 'replace':
      rawVersion = change.fullDocument?.version;
      // A hidden child (a creation under way): reported when its parents took it (version 1).
      if (rawVersion === 0) return null;
      break;
    case 'update': {
      const updated = change.updateDescription?.updatedFields;
      if (updated === undefined || !('version' in updated)) return null;
      rawVersion = updated.version;
      break;
    }
    default:
      return null;
  }
  const kind = kinds.get(change.ns.coll);
  const id = fromStoredId(change.documentKey._id);
  if (kind === undefined || id === null) return null;
  return { kind, id, version: readVersion(rawVersion) };
}

function historyLost(token: ResumeToken, error: unknown): Error {
  return new Error(
    `[genledger] [mongo] change feed: cannot resume after position "${streamPosition(token)}": the server's oplog no longer reaches back that far ` +
      `(the subscriber was away longer than the oplog window), so the changes made since then are lost to this subscription; it continues from now. ` +
      `Read the records you care about again, and consider a larger oplog (replSetResizeOplog).`,
    { cause: error },
  );
}

export async function subscribeToChangeStreams(context: FeedContext, subscriber: ChangeFeedOptions, after: ResumeToken | undefined): Promise<ChangeSubscription> {
  const kinds = kindsByCollection(context.names);
  const pipeline = [
    {
      $match: {
        $or: [
          { 'ns.coll': { $in: [...kinds.keys()] }, operationType: { $in: ['insert', 'update', 'replace'] } },
          // Ends the stream (the database was dropped or renamed): the feed opens a new one after it.
          { operationType: 'invalidate' },
        ],
      },
    },
    { $project: { operationType: 1, ns: 1, documentKey: 1, 'fullDocument.version': 1, 'updateDescription.updatedFields.version': 1 } },
  ];
  /** Where a new stream starts: after the last event seen, or the server's own mark for an empty batch. */
  let resumeFrom: ResumeToken | undefined = after;
  let stream: ChangeStream<StoredDocument, Change> | null = null;
  const loop = createLoop(context, subscriber);

  function handle(change: Change): void {
    resumeFrom = change._id;
    if (change.operationType === 'invalidate') {
      // The server closes an invalidated stream; the next step opens one with startAfter this event.
      const ended = stream;
      stream = null;
      void ended?.close().catch(() => undefined);
      return;
    }
    const notice = noticeOf(change, kinds);
    if (notice !== null) loop.deliver({ ...notice, position: streamPosition(change._id) });
  }

  /**
   * Opens a stream and waits for the server to accept it (its first, usually empty, batch), so
   * that a change made after this resolves is in the stream.
   */
  async function open(): Promise<void> {
    for (;;) {
      const options: ChangeStreamOptions = { comment: CHANGE_FEED_COMMENT };
      if (resumeFrom !== undefined) options.startAfter = resumeFrom;
      const opened = context.db.watch<StoredDocument, Change>(pipeline, options);
      try {
        const first = await opened.tryNext();
        if (loop.closed) {
          await opened.close().catch(() => undefined);
          return;
        }
        stream = opened;
        if (first !== null) handle(first);
        else resumeFrom = opened.resumeToken ?? resumeFrom;
        return;
      } catch (error) {
        await opened.close().catch(() => undefined);
        if (resumeFrom === undefined || !isHistoryLost(error)) throw error;
        subscriber.onError(historyLost(resumeFrom, error));
        resumeFrom = undefined;
      }
    }
  }

  // The first stream is opened before subscribe() resolves: its errors (a standalone server, no
  // privilege, a position from another cluster) reject the subscription instead of being retried.
  await open();

  loop.run({
    what: 'the change stream',
    async step() {
      if (stream === null) await open();
      const current = stream;
      if (current === null || loop.closed) return;
      const change = await current.next();
      if (loop.closed || stream !== current) return;
      handle(change);
    },
    async recover(error) {
      const failed = stream;
      stream = null;
      // The driver's cached token is the last event it handed out, or the server's mark after an
      // empty batch: resuming there misses nothing and repeats nothing.
      resumeFrom = failed?.resumeToken ?? resumeFrom;
      await failed?.close().catch(() => undefined);
      if (resumeFrom !== undefined && isHistoryLost(error)) {
        subscriber.onError(historyLost(resumeFrom, error));
        resumeFrom = undefined;
        return true;
      }
      return false;
    },
  });

  return {
    close: () =>
      loop.close(async () => {
        const current = stream;
        stream = null;
        await current?.close();
      }),
  };
}

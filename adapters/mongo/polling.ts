/**
 * The change feed where change streams are not available (a standalone server): polling.
 *
 * Each poll reads, per collection, the documents whose `updatedAt` is at or after the newest
 * `updatedAt` already read minus `pollOverlapMs`, in (`updatedAt`, `_id`) order, projected to
 * `_id`, `version` and `updatedAt` (the `{ updatedAt: 1, _id: 1 }` index that `ensureIndexes()`
 * makes for polling serves it). A document whose (kind, id, version) was already reported is
 * skipped, so re-reading the overlap reports nothing twice within a subscription.
 *
 * Why the overlap: `updatedAt` is the writing process's clock, taken before the write lands. Two
 * writes can land in the other order from their `updatedAt`s, several writes share one
 * millisecond, and two processes' clocks differ. A poll that went on strictly after the newest
 * (`updatedAt`, `_id`) read would skip every write that landed later with an earlier `updatedAt`.
 * With the overlap, a write is seen as long as it lands no more than `pollOverlapMs` behind the
 * newest `updatedAt` read before it. That is the guarantee, and its price is reading that window
 * again on every poll. Writes that do not set `updatedAt` (other programs) are not seen.
 *
 * A notice's position is the newest `updatedAt` read per collection; a subscription resumed from it
 * reads again from `pollOverlapMs` before each, so it may report again (at least once) the last
 * changes before the position, never fewer.
 */
import type { Collection, Document } from 'mongodb';
import type { ChangeFeedOptions, ChangeKind, ChangeSubscription } from 'genledger/adapter';
import { readDate, readVersion } from './documents.js';
import { CHANGE_FEED_COMMENT, createLoop, type FeedContext } from './feed-loop.js';
import { pollPosition, type Watermarks } from './feed-position.js';
import { fromStoredId, type StoredDocument } from './ids.js';

interface Source {
  readonly kind: ChangeKind;
  readonly collection: Collection<StoredDocument>;
  /** What was reported, by `id:version`, with its `updatedAt`: forgotten once below the overlap. */
  readonly reported: Map<string, number>;
}

const HAS_DATE = { $type: 'date' } as const;

export async function subscribeByPolling(context: FeedContext, subscriber: ChangeFeedOptions, after: Watermarks | undefined): Promise<ChangeSubscription> {
  const { pollOverlapMs, pollBatchSize, pollIntervalMs } = context.settings;
  const sources: Source[] = [
    { kind: 'generation', collection: context.db.collection<StoredDocument>(context.names.generations), reported: new Map() },
    { kind: 'cast', collection: context.db.collection<StoredDocument>(context.names.casts), reported: new Map() },
    { kind: 'cook', collection: context.db.collection<StoredDocument>(context.names.cooks), reported: new Map() },
    // Accounts: every write sets `updatedAt` (the operation's time) and `version`, as a record's does.
    { kind: 'account', collection: context.db.collection<StoredDocument>(context.names.accounts), reported: new Map() },
  ];
  const watermarks: Watermarks = after === undefined ? { generation: null, cast: null, cook: null, account: null } : { ...after };
  const loop = createLoop(context, subscriber);

  async function newest(collection: Collection<StoredDocument>): Promise<number | null> {
    const [latest] = await collection
      .find({ updatedAt: HAS_DATE }, { sort: { updatedAt: -1, _id: -1 }, limit: 1, projection: { _id: 1, updatedAt: 1 }, comment: CHANGE_FEED_COMMENT })
      .toArray();
    return readDate(latest?.updatedAt)?.getTime() ?? null;
  }

  /** One poll of every collection; `deliver: false` only notes what is there (a subscription from now). */
  async function poll(deliver: boolean): Promise<void> {
    for (const { kind, collection, reported } of sources) {
      if (loop.closed) return;
      const mark = watermarks[kind];
      const filter: Document = { updatedAt: mark === null ? HAS_DATE : { ...HAS_DATE, $gte: new Date(mark - pollOverlapMs) } };
      const cursor = collection.find(filter, {
        sort: { updatedAt: 1, _id: 1 },
        projection: { _id: 1, version: 1, updatedAt: 1 },
        batchSize: pollBatchSize,
        comment: CHANGE_FEED_COMMENT,
      });
      for await (const document of cursor) {
        if (loop.closed) return;
        const updatedAt = readDate(document.updatedAt)?.getTime();
        const id = fromStoredId(document._id);
        // A hidden child (version 0, a creation under way) is reported once its parents took it.
        if (updatedAt === undefined || id === null || document.version === 0) continue;
        const version = readVersion(document.version);
        const key = `${id}:${version}`;
        if (reported.has(key)) continue;
        reported.set(key, updatedAt);
        if (watermarks[kind] === null || updatedAt > watermarks[kind]!) watermarks[kind] = updatedAt;
        if (deliver) loop.deliver({ kind, id, version, position: pollPosition(watermarks) });
      }
      // No later poll reads below the overlap, so what is there can be forgotten.
      const floor = (watermarks[kind] ?? Number.NEGATIVE_INFINITY) - pollOverlapMs;
      for (const [key, updatedAt] of reported) if (updatedAt < floor) reported.delete(key);
    }
  }

  if (after === undefined) {
    // From now: what the collections hold already is not news.
    for (const source of sources) watermarks[source.kind] = await newest(source.collection);
    await poll(false);
  }

  loop.run({
    what: 'polling',
    async step() {
      await poll(true);
      await loop.pause(pollIntervalMs);
    },
    // A failed poll leaves nothing to clean up: the next one reads again from the watermarks.
    recover: async () => false,
  });

  return { close: () => loop.close(async () => undefined) };
}

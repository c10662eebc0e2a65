/**
 * The one write that moves an account, shared by every account operation (move.ts, hold.ts,
 * reconcile.ts). Exact without multi-document transactions:
 *
 * 1. Read the account document, then ONE query of the ledger collection for its `pending`
 *    entries (the last write's) and the operation's gate keys (`movement:<key>`,
 *    `hold:<generation>`, `capture:<generation>`...). A pending entry not found there is
 *    inserted (its writer died before it could): every entry of every version up to the one read
 *    is then in the ledger collection, since each write did the same before it landed.
 * 2. A gate key found (in the ledger collection or among the pending entries) means the operation
 *    landed already, and `decide` answers from it; nothing is written twice.
 * 3. `decide` runs the domain function (applyMovement, takeHold, settleHold, reconcileFigures) on
 *    the account as read; a refusal (the available amount does not cover a debit or a hold) is
 *    answered, nothing written.
 * 4. ONE `updateOne` whose filter is `{ _id, version }` as read (plus, for a write on behalf of a
 *    roll-up's owner, the lease: `$$NOW` before its end, as the parents' writes are fenced; a
 *    fenced write that missed and reads the same version again missed on the lease alone, and
 *    throws `LeaseExpiredError` at once, whatever the process's clock says):
 *    `$set` of the figures the domain computed AND the new entries as `pending`. The account and
 *    its entries land together or not at all, and only on the figures the domain checked: a
 *    concurrent write moved the version, so this one misses and starts again from 1.
 * 5. The new entries are inserted into the ledger collection (the next write, or a read, does it
 *    if this call dies first).
 *
 * The version filter is the "available covers it" condition in its strongest form: the figures
 * the domain compared are exactly the figures the write replaces, so `available` cannot go below
 * zero by a race, and no decimal comparison runs on the server.
 */
import type { Collection, Document } from 'mongodb';
import type { Account, LedgerEntry } from 'genledger';
import { emptyAccount } from 'genledger/adapter';
import { isDuplicateKeyError } from '../conditional-write.js';
import { literal } from '../expressions.js';
import { toStoredId, type StoredDocument } from '../ids.js';
import { LeaseExpiredError } from '../rollup/parent-apply.js';
import type { LeaseSettings, Run } from '../rollup/intents.js';
import { fromAccountDocument, fromEntryDocument, pendingEntries, toAccountFigures, type EntryDocument } from './documents.js';

export interface AccountCollections {
  readonly accounts: Collection<StoredDocument>;
  readonly ledgerEntries: Collection<Document>;
  readonly budgets: Collection<StoredDocument>;
}

/** What `decide` made of the account as read. */
export type AccountDecision<R> =
  /** Write `account` (the domain's next version) with `entries`, then answer `result`. */
  | { readonly kind: 'write'; readonly account: Account; readonly entries: readonly LedgerEntry[]; readonly result: R }
  /** Nothing to write: answer `result` (a refusal, or the operation found done by its keys). */
  | { readonly kind: 'answer'; readonly result: R };

/** A write on behalf of a roll-up's owner: fenced by its lease. */
export interface AccountFence {
  readonly run: Run;
  readonly settings: LeaseSettings;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** After this many misses in a row the account is reported as too busy (a write lands on every miss, so this is a storm). */
const MAX_ATTEMPTS = 2_000;

/**
 * Inserts entries into the ledger collection, in ONE unordered `insertMany` command; those already
 * there are left as they are. Unordered, the server tries every entry and reports the duplicates
 * together (a settlement's capture and release, or entries another call flushed first), so a
 * duplicate does not stop the entries after it.
 */
export async function insertEntries(ledgerEntries: Collection<Document>, entries: readonly EntryDocument[]): Promise<void> {
  if (entries.length === 0) return;
  try {
    await ledgerEntries.insertMany(
      entries.map((entry) => ({ ...entry })),
      { ordered: false },
    );
  } catch (error) {
    if (!onlyDuplicateKeys(error)) throw error;
  }
}

/**
 * Whether an `insertMany` failed only because some documents were there already: a
 * `MongoBulkWriteError` whose every write error is E11000 and that carries no write concern
 * error (the driver reports write errors first, so a write concern failure beside duplicates
 * must not be swallowed with them).
 */
function onlyDuplicateKeys(error: unknown): boolean {
  const bulk = error as { writeErrors?: unknown; result?: { getWriteConcernError?: () => unknown } } | null;
  if (bulk === null || typeof bulk !== 'object' || !Array.isArray(bulk.writeErrors) || bulk.writeErrors.length === 0) return isDuplicateKeyError(error);
  if (!bulk.writeErrors.every((writeError: unknown) => isDuplicateKeyError(writeError))) return false;
  return bulk.result?.getWriteConcernError?.() == null;
}

interface FlushedRead {
  /** The account as read, `null` when nothing ever wrote it. */
  readonly read: { readonly account: Account; readonly document: Document } | null;
  /** The entries holding the gate keys, by sequence. */
  readonly found: LedgerEntry[];
}

/**
 * The account as stored, after its pending entries are in the ledger collection (step 1), and
 * the entries holding `keys` (step 2).
 */
export async function readFlushed(collections: AccountCollections, accountId: string, keys: readonly string[] = []): Promise<FlushedRead> {
  const _id = toStoredId(accountId);
  const document = await collections.accounts.findOne({ _id });
  const pending = pendingEntries(document);
  if (pending.length === 0 && keys.length === 0) return { read: document === null ? null : { account: fromAccountDocument(document), document }, found: [] };
  const wanted: Document[] = [];
  if (pending.length > 0) wanted.push({ sequence: { $in: pending.map((entry) => entry.sequence) } });
  if (keys.length > 0) wanted.push({ key: { $in: [...keys] } });
  const stored = await collections.ledgerEntries.find({ accountId: _id, $or: wanted }).toArray();
  const storedSequences = new Set(stored.map((entry) => entry.sequence as number));
  await insertEntries(collections.ledgerEntries, pending.filter((entry) => !storedSequences.has(entry.sequence)));
  const bySequence = new Map<number, Document>();
  for (const entry of [...stored, ...pending]) if (keys.includes(entry.key as string)) bySequence.set(entry.sequence as number, entry);
  const found = [...bySequence.entries()].sort(([left], [right]) => left - right).map(([, entry]) => fromEntryDocument(entry));
  return { read: document === null ? null : { account: fromAccountDocument(document), document }, found };
}

/**
 * Runs `decide` on the account and lands its write once (steps 1 to 5). `keys` are the
 * operation's gate keys: the entries holding them are passed to `decide`.
 */
export async function applyToAccount<R>(
  collections: AccountCollections,
  accountId: string,
  keys: readonly string[],
  decide: (account: Account, found: readonly LedgerEntry[]) => AccountDecision<R>,
  fence: AccountFence | null,
): Promise<R> {
  const _id = toStoredId(accountId);
  /** The version a fenced write last missed on: read again unchanged, only the lease can have failed it. */
  let missedVersion: unknown = undefined;
  for (let attempt = 1; ; attempt += 1) {
    const { read, found } = await readFlushed(collections, accountId, keys);
    if (fence !== null && read !== null && missedVersion !== undefined && read.document.version === missedVersion) {
      // The server's $$NOW is past the lease, whatever this process's clock says (a lagging
      // clock, a GC pause): another call owns the operation now; retrying could only miss again.
      throw new LeaseExpiredError(`the write on account "${accountId}"`);
    }
    missedVersion = undefined;
    const decision = decide(read?.account ?? emptyAccount(accountId), found);
    if (decision.kind === 'answer') return decision.result;
    const figures = toAccountFigures(decision.account, decision.entries);
    let landed: boolean;
    if (read === null) {
      // The account's first write: its insert is the gate (the _id is unique). A fenced write
      // (a roll-up's) first creates the account empty, then matches against it, so its lease holds.
      if (fence === null) {
        try {
          await collections.accounts.insertOne({ _id, ...figures });
          landed = true;
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
          landed = false;
        }
      } else {
        try {
          await collections.accounts.insertOne({ _id, ...toAccountFigures(emptyAccount(accountId), []) });
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
        }
        landed = false;
      }
    } else {
      const filter: Document = { _id, version: read.document.version };
      if (fence !== null) filter.$expr = { $lt: ['$$NOW', literal(fence.run.until)] };
      landed = (await collections.accounts.updateOne(filter, { $set: figures })).matchedCount === 1;
      if (!landed) missedVersion = read.document.version;
    }
    if (landed) {
      await insertEntries(collections.ledgerEntries, figures.pending);
      return decision.result;
    }
    if (fence !== null && fence.settings.clock() >= fence.run.until) throw new LeaseExpiredError(`the write on account "${accountId}"`);
    if (attempt >= MAX_ATTEMPTS) {
      throw new Error(`[genledger] [mongo] the write on account "${accountId}" missed ${MAX_ATTEMPTS} times in a row: other writes kept changing it`);
    }
    // Another write landed first: back off a little, more the more often it happens.
    if (attempt > 1) await pause(Math.random() * Math.min(attempt, 16));
  }
}

/**
 * The MongoDB adapter's `AccountStore`: moves (move.ts), reads, reconcile and budgets. Holds are
 * taken and settled by the roll-up operations (rollup/create.ts, rollup/settle.ts, via hold.ts
 * and budgets.ts).
 *
 * - get: the account document (`null` when nothing moved it: absent, or created empty, `version: 0`,
 *   by a fenced write that has not landed).
 * - listEntries: the account document is read FIRST, then the ledger collection by
 *   (accountId, sequence); the document's `pending` entries (its last write's, which may not be
 *   inserted yet) are merged in. Read in that order, every entry up to the account's version is
 *   in one or the other.
 * - reconcile: the pending entries inserted, every entry read in sequence order,
 *   `reconcileFigures`; on drift the rebuilt figures are written with the version filter, so a
 *   write that landed in between makes it start again.
 */
import type { Document } from 'mongodb';
import { reconcileFigures, type AccountReconciliation, type AccountStore } from 'genledger/adapter';
import { toStoredId } from '../ids.js';
import { readFlushed, type AccountCollections } from './apply.js';
import { readBudget } from './budgets.js';
import { fromAccountDocument, fromEntryDocument, pendingEntries, toAccountFigures } from './documents.js';
import { moveAccount } from './move.js';

export function mongoAccountStore(collections: AccountCollections): AccountStore {
  const { accounts, ledgerEntries, budgets } = collections;

  async function allEntries(accountId: string) {
    const documents = await ledgerEntries.find({ accountId: toStoredId(accountId) }, { sort: { sequence: 1 } }).toArray();
    return documents.map(fromEntryDocument);
  }

  return {
    move: (request, at) => moveAccount(collections, request, at),

    async get(accountId) {
      const document = await accounts.findOne({ _id: toStoredId(accountId) });
      return document === null || document.version === 0 ? null : fromAccountDocument(document);
    },

    async listEntries({ accountId, afterSequence, limit }) {
      const account = await accounts.findOne({ _id: toStoredId(accountId) });
      const stored = await ledgerEntries.find({ accountId: toStoredId(accountId), sequence: { $gt: afterSequence } }, { sort: { sequence: 1 }, limit }).toArray();
      const bySequence = new Map<number, Document>();
      for (const entry of [...pendingEntries(account), ...stored]) if (entry.sequence > afterSequence) bySequence.set(entry.sequence as number, entry);
      return [...bySequence.keys()].sort((left, right) => left - right).slice(0, limit).map((sequence) => fromEntryDocument(bySequence.get(sequence)!));
    },

    async reconcile(accountId, at): Promise<AccountReconciliation> {
      for (let attempt = 1; ; attempt += 1) {
        const { read } = await readFlushed(collections, accountId);
        const stored = read === null || read.document.version === 0 ? null : read.account;
        const reconciled = reconcileFigures(accountId, stored, stored === null ? [] : await allEntries(accountId), at);
        if (!reconciled.drift || read === null) return reconciled;
        const written = await accounts.updateOne({ _id: toStoredId(accountId), version: read.document.version }, { $set: toAccountFigures(reconciled.rebuilt, []) });
        if (written.matchedCount === 1) return reconciled;
        if (attempt >= 100) throw new Error(`[genledger] [mongo] reconcile of account "${accountId}" missed 100 times in a row: other writes kept changing it`);
      }
    },

    getBudget: (parent) => readBudget(budgets, parent),
  };
}

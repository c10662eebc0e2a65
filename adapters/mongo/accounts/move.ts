/**
 * `accounts.move`: a credit, or a debit the available amount covers, with its entry, once per
 * idempotency key (apply.ts is the write).
 *
 * Inputs: the request (kind, account, units, reason, key), `at`. Gate key: `movement:<key>`.
 * Result: `applied` (this call wrote the entry), `existing` (the key's entry, written before; the
 * tracker compares it with the request), or `insufficient` (a debit the available amount does not
 * cover: nothing written).
 */
import type { LedgerEntry } from 'genledger';
import { applyMovement, type MovementRequest, type MovementResult } from 'genledger/adapter';
import { applyToAccount, type AccountCollections } from './apply.js';
import { movementKey } from './documents.js';

export function moveAccount(collections: AccountCollections, request: MovementRequest, at: Date): Promise<MovementResult> {
  return applyToAccount<MovementResult>(
    collections,
    request.accountId,
    [movementKey(request.idempotencyKey)],
    (account, found: readonly LedgerEntry[]) => {
      const keyed = found[0];
      if (keyed !== undefined) return { kind: 'answer', result: { outcome: 'existing', account, entry: keyed } };
      const result = applyMovement(account, request, at);
      return result.outcome === 'applied' ? { kind: 'write', account: result.account, entries: [result.entry], result } : { kind: 'answer', result };
    },
    null,
  );
}

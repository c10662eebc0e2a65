/**
 * One in-memory parent store (casts or cooks): the reads, the insert and maintenance's query are
 * the same for both; the status writes (`transition`, `replaceAggregates`) are given by the
 * repository, which runs the domain composites over the stored records.
 */
import type { Cast, Cook, Units } from 'genledger';
import type { ChildrenSummary, MaintenanceQuery, ParentHoldDecision, ParentStore, ParentTransition, ReleasedReservations } from 'genledger/adapter';
import { snapshotJson, type Table } from './table.js';

export interface ParentWrites<T extends Cast | Cook, TWrite> {
  transition(id: string, transition: ParentTransition, at: Date): (TWrite & ReleasedReservations) | null;
  replaceAggregates(id: string, expectedVersion: number, recomputed: T, at: Date): (TWrite & ReleasedReservations) | null;
  /** Whether anything is still open below the parent (a cancelled one with this is a cascade a crash cut short). */
  hasOpenChildren(record: T): boolean;
  /** Stores a new parent's budget, in the same synchronous step as its insert. */
  storeBudget(id: string, limit: Units): void;
  /** Decides a new parent's hold on its account (nothing written). */
  decideParentHold(id: string, accountId: string, units: Units, at: Date): ParentHoldDecision;
  /** Stores a parent hold decided in the same synchronous step as the parent's insert. */
  storeParentHold(decision: Extract<ParentHoldDecision, { outcome: 'held' }>): void;
}

export function memoryParentStore<T extends Cast | Cook, TWrite>(
  table: Table<T>,
  writes: ParentWrites<T, TWrite>,
  /** Ids of parents maintenance may need: running, or cancelled with children still open. */
  watched: ReadonlySet<string>,
  summarize: (id: string, maxEmbeddedIds: number) => ChildrenSummary,
): ParentStore<T, TWrite> {
  return {
    async insert(record, accounting) {
      const stored = { ...record, metadata: snapshotJson(record.metadata) };
      if (!accounting?.hold) {
        const inserted = table.insert(stored);
        if (inserted.created && accounting?.budget) writes.storeBudget(record.id, accounting.budget);
        return inserted;
      }
      // A parent hold: the key first (a repeat takes no hold), then the account's decision, then
      // the id check, all before anything is stored; then the parent and its hold in this one step.
      const existing = table.existingFor(stored);
      if (existing !== null) return { created: false, record: existing };
      const decided = writes.decideParentHold(record.id, record.initiatorAccountId, accounting.hold, record.updatedAt);
      if (decided.outcome === 'limited') return decided;
      const inserted = table.insert(stored);
      writes.storeParentHold(decided);
      return { ...inserted, held: decided };
    },
    async findByIdempotencyKey(key) {
      return table.findByIdempotencyKey(key);
    },
    async get(ids) {
      return table.get(ids);
    },
    async transition(id, transition, at) {
      return writes.transition(id, transition, at);
    },
    async summarizeChildren(id, { maxEmbeddedIds }) {
      return summarize(id, maxEmbeddedIds);
    },
    async replaceAggregates(id, expectedVersion, recomputed, at) {
      return writes.replaceAggregates(id, expectedVersion, recomputed, at);
    },
    async findForMaintenance({ idleBefore, afterId, limit }: MaintenanceQuery) {
      const ids = [...watched].filter((id) => afterId === undefined || id > afterId).sort();
      const page: T[] = [];
      for (const parent of table.get(ids)) {
        const idle = parent.status === 'running' && parent.inFlightCount === 0 && parent.updatedAt < idleBefore;
        const cascade = parent.status === 'cancelled' && writes.hasOpenChildren(parent);
        if (idle || cascade) page.push(parent);
        if (page.length === limit) break;
      }
      return page;
    },
  };
}

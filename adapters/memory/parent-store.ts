/**
 * One in-memory parent store (casts or cooks): each write runs the parent's pure reducer through
 * the table, so casts and cooks differ only in the reducers and the summary they are given.
 */
import type { Draft } from '../../src/domain/record-copies.js';
import type { Cast, Cook } from '../../src/domain/records.js';
import type { ChildAttachment } from '../../src/domain/rollup/contribution.js';
import type { AttachResult, ParentTransition, WriteResult } from '../../src/domain/rollup/write-result.js';
import type { ChildContribution, ChildrenSummary, MaintenanceQuery, ParentStore } from '../../src/port.js';
import { snapshotJson, type Table } from './table.js';

export interface ParentReducers<T extends Cast | Cook, C extends ChildContribution> {
  attach(record: T, attachment: ChildAttachment): AttachResult<T>;
  detach(record: T, childId: string, at: Date): WriteResult<T>;
  apply(record: T, contribution: C, at: Date): WriteResult<T>;
  transition(record: T, transition: ParentTransition, at: Date): WriteResult<T>;
  /** A fresh shallow copy (see `record-copies.ts`). */
  copy(record: T): Draft<T>;
  hasOpenEntries(record: T): boolean;
}

export function memoryParentStore<T extends Cast | Cook, C extends ChildContribution>(
  table: Table<T>,
  reducers: ParentReducers<T, C>,
  /** Ids of parents maintenance may need: with open entries, or still running. */
  watched: ReadonlySet<string>,
  summarize: (id: string, maxEmbeddedIds: number) => ChildrenSummary,
): ParentStore<T, C> {
  return {
    async insert(record) {
      const stored = reducers.copy(record);
      stored.metadata = snapshotJson(record.metadata);
      return table.insert(stored);
    },
    async findByIdempotencyKey(key) {
      return table.findByIdempotencyKey(key);
    },
    async get(ids) {
      return table.get(ids);
    },
    async attach(id, attachment) {
      return table.attach(id, (record) => reducers.attach(record, attachment));
    },
    async detach(id, childId, at) {
      return table.write(id, (record) => reducers.detach(record, childId, at));
    },
    async apply(id, contribution, at) {
      return table.write(id, (record) => reducers.apply(record, contribution, at));
    },
    async transition(id, transition, at) {
      return table.write(id, (record) => reducers.transition(record, transition, at));
    },
    async summarizeChildren(id, { maxEmbeddedIds }) {
      return summarize(id, maxEmbeddedIds);
    },
    async replaceAggregates(id, expectedVersion, recomputed, at) {
      return table.replaceIfVersion(id, expectedVersion, { ...recomputed, version: expectedVersion + 1, updatedAt: at });
    },
    async findForMaintenance({ idleBefore, afterId, limit }: MaintenanceQuery) {
      const ids = [...watched].filter((id) => afterId === undefined || id > afterId).sort();
      const page: T[] = [];
      for (const parent of table.get(ids)) {
        const idle = parent.status === 'running' && parent.inFlightCount === 0 && parent.updatedAt < idleBefore;
        if (reducers.hasOpenEntries(parent) || idle) page.push(parent);
        if (page.length === limit) break;
      }
      return page;
    },
  };
}

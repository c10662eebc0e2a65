/**
 * The shape of one conditional write on one record, shared by every reducer and by the repository
 * port: the record after the write, and whether the write changed it (a retried or stale call
 * changes nothing and says so).
 */
import type { AttachOutcome } from './contribution.js';

export interface WriteResult<T extends { status: string }> {
  readonly changed: boolean;
  /** The record after the write (as it stands, when nothing changed). */
  readonly record: T;
  /** The status before the write; tells the caller whether this write moved the status. */
  readonly previousStatus: T['status'];
}

/** A write that changed nothing. */
export function unchanged<T extends { status: string }>(record: T): WriteResult<T> {
  return { changed: false, record, previousStatus: record.status };
}

/** A write that produced `next` from `previous`. */
export function changedFrom<T extends { status: string }>(previous: T, next: T): WriteResult<T> {
  return { changed: true, record: next, previousStatus: previous.status };
}

export interface AttachResult<T> {
  readonly outcome: AttachOutcome;
  readonly record: T;
}

/**
 * Parent transitions not driven by a child: `finish`, `cancel`, `pause`, `resume` by the host
 * (`pause`/`resume` for cooks only), and `expire` by the sweeper for a parent left idle with
 * nothing in flight (its host is gone).
 */
export type ParentTransition = 'finish' | 'cancel' | 'pause' | 'resume' | 'expire';

// Every write also bumps the record's `version` (the change feed's ordering key) and sets
// `updatedAt`; the reducers write both inline rather than through a helper object, which cost an
// extra allocation and spread on every write.

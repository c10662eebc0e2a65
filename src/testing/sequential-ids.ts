/**
 * Predictable ids for tests: `cook-000001`, `cast-000002`, `generation-000003`, ... (one counter
 * for every kind, zero-padded so ids sort as they were made), or ObjectId-shaped hex
 * strings (`000000000000000000000001`) for stores that want them.
 */
import type { EntityKind } from '../domain/records.js';
import type { IdGenerator } from '../port.js';

export interface SequentialIdOptions {
  /** `'readable'`: `cast-000001`; `'objectId'`: 24 hex digits, sortable. @default 'readable' */
  readonly format?: 'readable' | 'objectId';
  /** Prefix for readable ids, to keep two generators apart. @default '' */
  readonly prefix?: string;
}

export function sequentialIds(options: SequentialIdOptions = {}): IdGenerator {
  let counter = 0;
  if (options.format === 'objectId') {
    return () => (counter += 1).toString(16).padStart(24, '0');
  }
  const prefix = options.prefix ?? '';
  return (kind: EntityKind) => `${prefix}${kind}-${(counter += 1).toString().padStart(6, '0')}`;
}

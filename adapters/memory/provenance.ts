/**
 * The store's own frozen copy of a cost provenance, built field by field (a provenance frozen
 * throughout, as the tracker hands over, is kept as it is). The copy replaced
 * `structuredClone` plus a generic deep freeze on the completion path, which cost about 6.7 µs of
 * the time a priced completion adds (most of it serialization and the garbage it leaves). Spreads
 * keep any field the copy does not name; every object and array is new and frozen, every `Date`
 * a new one, so the caller's objects and the stored ones never alias.
 */
import type { CostBasis, CostProvenance } from 'genledger';

const freeze = Object.freeze;

function copyBasis(basis: CostBasis | null): CostBasis | null {
  if (basis === null) return null;
  return freeze({
    ...basis,
    effectiveFrom: new Date(basis.effectiveFrom.getTime()),
    lines: freeze(basis.lines.map((line) => freeze({ ...line, bands: freeze(line.bands.map((band) => freeze({ ...band }))) }))),
  });
}

/** Whether the basis, its lines and their bands are all frozen (loops, not `every` with closures: this runs on every priced completion). */
function frozenBasis(basis: CostBasis | null): boolean {
  if (basis === null) return true;
  if (!Object.isFrozen(basis) || !Object.isFrozen(basis.lines)) return false;
  for (const line of basis.lines) {
    if (!Object.isFrozen(line) || !Object.isFrozen(line.bands)) return false;
    for (const band of line.bands) if (!Object.isFrozen(band)) return false;
  }
  return true;
}

/**
 * Whether every object of the provenance is frozen: then nobody can change it and the store keeps
 * it as it is. The tracker hands over provenances built fresh and frozen, their `Date`s its own
 * (a `Date` cannot be frozen: a caller handing a frozen provenance promises not to change them).
 */
function frozenThroughout(provenance: CostProvenance): boolean {
  const { usage, original, adjustments } = provenance;
  return (
    Object.isFrozen(provenance) &&
    (usage === null || Object.isFrozen(usage)) &&
    frozenBasis(provenance.basis) &&
    (original === null || (Object.isFrozen(original) && frozenBasis(original.basis))) &&
    Object.isFrozen(adjustments) &&
    adjustments.every(Object.isFrozen) &&
    (provenance.backfill === undefined || (Object.isFrozen(provenance.backfill) && Object.isFrozen(provenance.backfill.figures) && provenance.backfill.figures.every(Object.isFrozen)))
  );
}

export function snapshotProvenance(provenance: CostProvenance): CostProvenance;
export function snapshotProvenance(provenance: CostProvenance | null | undefined): CostProvenance | null | undefined;
export function snapshotProvenance(provenance: CostProvenance | null | undefined): CostProvenance | null | undefined {
  if (provenance === null || provenance === undefined || frozenThroughout(provenance)) return provenance;
  const { usage, basis, original, adjustments, backfill } = provenance;
  return freeze({
    ...provenance,
    usage: usage === null ? null : freeze({ ...usage }),
    basis: copyBasis(basis),
    original: original === null ? null : freeze({ ...original, basis: copyBasis(original.basis) }),
    adjustments: freeze(adjustments.map((adjustment) => freeze({ ...adjustment, at: new Date(adjustment.at.getTime()) }))),
    ...(backfill === undefined ? {} : { backfill: freeze({ ...backfill, at: new Date(backfill.at.getTime()), figures: freeze(backfill.figures.map((figure) => freeze({ ...figure }))) }) }),
  });
}

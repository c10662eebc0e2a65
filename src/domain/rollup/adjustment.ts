/**
 * Adjustment: a finished generation's cost corrected (a re-price), and the difference handed to
 * its parents, as one atomic operation of the store. Nothing is overwritten silently: the
 * generation keeps its first figures (`costProvenance.original`) and appends the adjustment; its
 * cast and its cook receive exactly the difference, so each parent stays the sum of its children.
 *
 * The gate is the generation's adjustment count: the operation applies only when the generation
 * is finished and has exactly `expectedAdjustments` adjustments, the count the caller read before
 * computing the new figures. A second run of the same re-price, or a racing one, finds the count
 * moved and applies nothing; the caller reads again and recomputes (and then finds no difference).
 *
 * Pure: the memory adapter runs it as its write; every other adapter must leave exactly what it
 * leaves (the conformance suite's `repricing` part checks it).
 */
import type { UsdAmount } from '../money.js';
import { addSignedUsd, usdDifference, type CostBasis, type CostProvenance } from '../pricing.js';
import type { Cast, Cook, Generation } from '../records.js';
import { isTerminalGenerationStatus } from '../status.js';
import { changedFrom, unchanged, type WriteResult } from './write-result.js';

/** What a re-price asks of one generation: its new figures, gated by the adjustment count it read. */
export interface CostCorrection {
  /** The number of adjustments the generation had when the caller computed the figures. */
  readonly expectedAdjustments: number;
  readonly costUsd: UsdAmount;
  readonly pointsSpent: number;
  readonly basis: CostBasis;
  readonly at: Date;
}

/** What one adjustment did, write by write. */
export interface CostAdjustmentResult {
  /** The generation's write (`changed: false`, with the stored record, when the gate was closed or nothing differed). */
  readonly generation: WriteResult<Generation>;
  /** The difference applied to its cast; `null` when it has none (or the cast is gone), or nothing was applied. */
  readonly cast: WriteResult<Cast> | null;
  /** The difference applied to its cook; `null` likewise. */
  readonly cook: WriteResult<Cook> | null;
}

/** Whether `generation` passes the gate of `correction`: finished, with the adjustment count the caller read. */
export function adjustmentGateOpen(generation: Generation, correction: CostCorrection): boolean {
  return isTerminalGenerationStatus(generation.status) && (generation.costProvenance?.adjustments.length ?? 0) === correction.expectedAdjustments;
}

/** The generation with `correction` applied, and the money difference its parents receive; `null` when the gate is closed or nothing differs. */
export function adjustGenerationCost(
  generation: Generation,
  correction: CostCorrection,
): { readonly record: Generation; readonly deltaUsd: string; readonly deltaPoints: number } | null {
  if (!adjustmentGateOpen(generation, correction)) return null;
  const deltaUsd = usdDifference(generation.costUsd, correction.costUsd);
  const deltaPoints = correction.pointsSpent - generation.pointsSpent;
  if (deltaUsd === '0' && deltaPoints === 0) return null;
  const provenance: CostProvenance = generation.costProvenance ?? {
    source: 'reported',
    usage: null,
    basis: null,
    unpricedReason: null,
    original: null,
    adjustments: [],
  };
  const next: Generation = {
    ...generation,
    costUsd: correction.costUsd,
    pointsSpent: correction.pointsSpent,
    costProvenance: {
      ...provenance,
      source: 'repriced',
      basis: correction.basis,
      unpricedReason: null,
      original: provenance.original ?? {
        source: provenance.source,
        costUsd: generation.costUsd,
        pointsSpent: generation.pointsSpent,
        basis: provenance.basis,
      },
      adjustments: [
        ...provenance.adjustments,
        {
          reason: 'reprice',
          fromVersionId: provenance.basis?.versionId ?? null,
          toVersionId: correction.basis.versionId,
          previousCostUsd: generation.costUsd,
          costUsd: correction.costUsd,
          deltaUsd,
          previousPointsSpent: generation.pointsSpent,
          pointsSpent: correction.pointsSpent,
          deltaPoints,
          at: correction.at,
        },
      ],
    },
    version: generation.version + 1,
    updatedAt: correction.at,
  };
  return { record: next, deltaUsd, deltaPoints };
}

/** A parent receives a child's cost difference: money only; status, counts and times stay. */
export function applyCostDelta<T extends Cast | Cook>(parent: T, deltaUsd: string, deltaPoints: number, at: Date): WriteResult<T> {
  if (deltaUsd === '0' && deltaPoints === 0) return unchanged(parent);
  const next: T = {
    ...parent,
    costUsd: addSignedUsd(parent.costUsd, deltaUsd),
    pointsSpent: parent.pointsSpent + deltaPoints,
    version: parent.version + 1,
    updatedAt: at,
  };
  return changedFrom(parent, next);
}

/**
 * Adjusts `generation` by `correction` and hands the difference to its parents.
 *
 * @param cast the generation's cast as stored (`generation.castId`), `null` when it has none or it is gone
 * @param cook the generation's cook as stored (`generation.cookId`), `null` likewise
 */
export function adjust(generation: Generation, cast: Cast | null, cook: Cook | null, correction: CostCorrection): CostAdjustmentResult {
  const adjusted = adjustGenerationCost(generation, correction);
  if (adjusted === null) return { generation: unchanged(generation), cast: null, cook: null };
  const { record, deltaUsd, deltaPoints } = adjusted;
  const at = correction.at;
  return {
    generation: changedFrom(generation, record),
    cast: cast !== null && cast.id === generation.castId ? applyCostDelta(cast, deltaUsd, deltaPoints, at) : null,
    cook: cook !== null && cook.id === generation.cookId ? applyCostDelta(cook, deltaUsd, deltaPoints, at) : null,
  };
}

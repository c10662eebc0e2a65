/**
 * Points: whole numbers, derived once at the terminal transition. A caller that knows the points
 * passes them; a tracker configured with a points-per-dollar rate derives them from the cost
 * (rounded up, computed exactly); otherwise they are 0. Missing points on finished records were
 * one of the things a legacy backfill had to repair, so a finished generation always has them.
 */
import { ceilUnitsTimes, ceilUsdTimes, type UsdAmount } from './money.js';

export interface PointsInput {
  readonly pointsSpent?: number | undefined;
  readonly costUsd: UsdAmount;
  /** Points charged per dollar of cost, as a decimal string; `null` when points are never derived. */
  readonly pointsPerUsd: UsdAmount | null;
}

export function derivePointsSpent({ pointsSpent, costUsd, pointsPerUsd }: PointsInput): number {
  if (pointsSpent !== undefined) return pointsSpent;
  if (pointsPerUsd === null) return 0;
  return pointsOf(ceilUsdTimes(costUsd, pointsPerUsd));
}

/**
 * {@link derivePointsSpent} of a cost and a rate already in 10^-18 dollar units (a cost the price
 * table just computed, the version's rate read when the table was loaded): no decimal is parsed.
 */
export function derivePointsFromUnits(costUnits: bigint, rateUnits: bigint): number {
  return pointsOf(ceilUnitsTimes(costUnits, rateUnits));
}

const MAX_POINTS = BigInt(Number.MAX_SAFE_INTEGER);

function pointsOf(derived: bigint): number {
  if (derived > MAX_POINTS) throw new RangeError('derived points exceed a safe integer');
  return Number(derived);
}

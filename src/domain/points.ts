/**
 * Points: whole numbers, derived once at the terminal transition. A caller that knows the points
 * passes them; a tracker configured with a points-per-dollar rate derives them from the cost
 * (rounded up, computed exactly); otherwise they are 0. Missing points on finished records were
 * one of the things a legacy backfill had to repair, so a finished generation always has them.
 */
import { ceilUnitsTimesRate, ceilUsdTimes, type ReducedRate, type UsdAmount } from './money.js';

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
 * {@link derivePointsSpent} of a cost in 10^-18 dollar units (one the price table just computed) and
 * a rate read when the table was loaded (`reduceRate`): no decimal is parsed.
 */
export function derivePointsFromUnits(costUnits: bigint, rate: ReducedRate): number {
  return pointsOf(ceilUnitsTimesRate(costUnits, rate));
}

const MAX_POINTS = BigInt(Number.MAX_SAFE_INTEGER);

function pointsOf(derived: bigint): number {
  if (derived > MAX_POINTS) throw new RangeError('derived points exceed a safe integer');
  return Number(derived);
}

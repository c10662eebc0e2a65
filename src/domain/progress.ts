/**
 * A parent's progress, readable at any time from the parent record alone (no query over its
 * children) and carried on every cast and cook update event.
 */
import type { UsdAmount } from './money.js';
import type { Cast, Cook } from './records.js';
import type { CastStatus, CookStatus } from './status.js';

export interface CastProgress {
  readonly castId: string;
  readonly status: CastStatus;
  /** Steps finished, whatever their outcome. */
  readonly done: number;
  readonly succeeded: number;
  /** `totalSteps`, when the cast declared it. */
  readonly target: number | null;
  readonly inFlight: number;
  /** done / target in 0..1, or `null` without a target. */
  readonly fraction: number | null;
  readonly pointsSpent: number;
  readonly costUsd: UsdAmount;
}

export interface CookProgress {
  readonly cookId: string;
  readonly status: CookStatus;
  /** Pieces that succeeded (`generatedCount`). */
  readonly done: number;
  readonly target: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly inFlight: number;
  /** done / target, at most 1. */
  readonly fraction: number;
  readonly pointsSpent: number;
  readonly costUsd: UsdAmount;
}

export function castProgress(cast: Cast): CastProgress {
  const { success, failed, cancelled_by_user, timeout } = cast.outcomes;
  const done = success + failed + cancelled_by_user + timeout;
  return {
    castId: cast.id,
    status: cast.status,
    done,
    succeeded: success,
    target: cast.totalSteps,
    inFlight: cast.inFlightCount,
    fraction: cast.totalSteps === null ? null : Math.min(1, success / cast.totalSteps),
    pointsSpent: cast.pointsSpent,
    costUsd: cast.costUsd,
  };
}

export function cookProgress(cook: Cook): CookProgress {
  return {
    cookId: cook.id,
    status: cook.status,
    done: cook.generatedCount,
    target: cook.targetSupply,
    failed: cook.failedCount,
    cancelled: cook.cancelledCount,
    inFlight: cook.inFlightCount,
    fraction: Math.min(1, cook.generatedCount / cook.targetSupply),
    pointsSpent: cook.pointsSpent,
    costUsd: cook.costUsd,
  };
}

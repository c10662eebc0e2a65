/**
 * The independent oracle the randomized and fault tests rely on: recompute every parent's
 * aggregates from its children, read back through the public API, with arithmetic written here
 * (not the adapter's summaries, not the reducers), and list every difference.
 */
import { sumUsd } from '../domain/money.js';
import type { Cast, Cook, Generation } from '../domain/records.js';
import type { Tracker } from '../tracker/create-tracker.js';

async function allGenerations(tracker: Tracker, filter: { castId?: string; cookId?: string }): Promise<Generation[]> {
  const items: Generation[] = [];
  let cursor: string | undefined;
  do {
    const page = await tracker.listGenerations({ ...filter, limit: 1000, order: 'asc', cursor });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

const isOpen = (generation: Generation) => generation.status === 'pending' || generation.status === 'processing';

function money(children: readonly Generation[]) {
  const finished = children.filter((child) => !isOpen(child));
  const count = (status: string) => finished.filter((child) => child.status === status).length;
  return {
    outcomes: { success: count('success'), failed: count('failed'), cancelled_by_user: count('cancelled_by_user'), timeout: count('timeout') },
    pointsSpent: finished.reduce((sum, child) => sum + child.pointsSpent, 0),
    protocolNetPoints: finished.reduce((sum, child) => sum + child.protocolNetPoints, 0),
    costUsd: sumUsd(finished.map((child) => child.costUsd)),
  };
}

/** JSON with sorted keys, so two stores that order fields differently compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([left], [right]) => (left < right ? -1 : 1)))
      : inner,
  );
}

function compare(label: string, stored: Record<string, unknown>, expected: Record<string, unknown>, problems: string[]): void {
  for (const [field, value] of Object.entries(expected)) {
    const actual = stored[field];
    if (canonical(actual) !== canonical(value)) problems.push(`${label}.${field}: stored ${canonical(actual)}, children say ${canonical(value)}`);
  }
}

export interface AuditOptions {
  /**
   * Also require that a cancelled parent has no open children. A child recorded while its parent
   * was being cancelled can be stored after the cancellation passed; the next sweep cancels it, so
   * check this after a sweep. @default true
   */
  readonly requireCancelCascade?: boolean;
}

/** Checks a cast against its steps; returns the problems found. */
export async function auditCast(tracker: Tracker, cast: Cast, options: AuditOptions = {}): Promise<string[]> {
  const problems: string[] = [];
  const steps = await allGenerations(tracker, { castId: cast.id });
  const open = steps.filter(isOpen).map((step) => step.id).sort();
  compare(`cast ${cast.id}`, cast as unknown as Record<string, unknown>, { ...money(steps), inFlightCount: open.length }, problems);
  const { success, failed, cancelled_by_user, timeout } = money(steps).outcomes;
  if (cast.status === 'running') {
    if (failed + timeout > 0) problems.push(`cast ${cast.id} is running with a failed step`);
    if (cancelled_by_user > 0) problems.push(`cast ${cast.id} is running with a cancelled step`);
    if (cast.totalSteps !== null && success >= cast.totalSteps) problems.push(`cast ${cast.id} is running with all ${cast.totalSteps} steps done`);
  }
  if (options.requireCancelCascade !== false && cast.status === 'cancelled' && open.length > 0) problems.push(`cast ${cast.id} is cancelled with open steps ${open}`);
  return problems;
}

/** Checks a cook against every generation below it and its cast pieces. */
export async function auditCook(tracker: Tracker, cook: Cook, casts: readonly Cast[], options: AuditOptions = {}): Promise<string[]> {
  const problems: string[] = [];
  const generations = await allGenerations(tracker, { cookId: cook.id });
  const pieces = generations.filter((generation) => generation.castId === null);
  const castPieces = casts.filter((cast) => cast.cookId === cook.id);
  const pieceCount = (generationStatuses: string[], castStatuses: string[]) =>
    pieces.filter((piece) => generationStatuses.includes(piece.status)).length + castPieces.filter((cast) => castStatuses.includes(cast.status)).length;
  const openGenerations = generations.filter(isOpen).map((generation) => generation.id).sort();
  const openPieces = [...pieces.filter(isOpen).map((piece) => piece.id), ...castPieces.filter((cast) => cast.status === 'running').map((cast) => cast.id)].sort();
  compare(
    `cook ${cook.id}`,
    cook as unknown as Record<string, unknown>,
    {
      ...money(generations),
      generatedCount: pieceCount(['success'], ['completed']),
      failedCount: pieceCount(['failed', 'timeout'], ['failed']),
      cancelledCount: pieceCount(['cancelled_by_user'], ['cancelled']),
      inFlightCount: openPieces.length,
      openGenerationCount: openGenerations.length,
    },
    problems,
  );
  if ((cook.status === 'running' || cook.status === 'paused') && cook.generatedCount >= cook.targetSupply && cook.inFlightCount === 0) {
    problems.push(`cook ${cook.id} is ${cook.status} with its supply made and nothing in flight`);
  }
  if (options.requireCancelCascade !== false && cook.status === 'cancelled' && openGenerations.length + openPieces.length > 0) {
    problems.push(`cook ${cook.id} is cancelled with open children ${[...openPieces, ...openGenerations]}`);
  }
  return problems;
}

/** Audits a cook and all its cast pieces, plus any extra casts; every problem found, or none. */
export async function auditLedger(tracker: Tracker, cookIds: readonly string[], castIds: readonly string[], options: AuditOptions = {}): Promise<string[]> {
  const casts = (await Promise.all(castIds.map((id) => tracker.getCast(id)))).filter((cast): cast is Cast => cast !== null);
  const problems: string[] = [];
  for (const cast of casts) problems.push(...(await auditCast(tracker, cast, options)));
  for (const cookId of cookIds) {
    const cook = await tracker.getCook(cookId);
    if (!cook) problems.push(`cook ${cookId} is missing`);
    else problems.push(...(await auditCook(tracker, cook, casts, options)));
  }
  return problems;
}

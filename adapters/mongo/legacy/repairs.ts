/**
 * The legacy records of `generationOutputs`: what each one lacks, and what it should become. Pure:
 * no I/O, the clock passed in. The audit counts these problems, the backfill writes these repairs
 * (tools.ts), and both are tested on a generated legacy dataset without a server.
 *
 * Most repairs only write down what the adapter already reads (../documents.ts): the record a
 * repaired document reads as is the record the legacy one read as, so the backfill changes no
 * figure a host has seen. Two repairs are decisions, documented in docs/mongodb.md:
 * - stuck work: a generation still pending or processing with no write for `stuckAfterMs` is
 *   timed out now, as the sweeper would (DESIGN.md, "Generations stuck in pending forever");
 * - a finished record with someone to notify and no delivery recorded is marked `dropped`: whether
 *   it reached the user is unknown, and `pending` would make a notifier send months-old results.
 */
import type { Document } from 'mongodb';
import { type CostProvenance, type Generation, isTerminalGenerationStatus } from 'genledger';
import { elapsedMs } from 'genledger/adapter';
import { fromGenerationDocument, readDate, readNumber, toGenerationDocument } from '../documents.js';
import { costKind } from '../money.js';
import { normalizeGenerationStatus, readDeliveryStatusWord } from '../status-words.js';

/** The problems the audit counts, one name each. */
export const LEGACY_PROBLEMS = [
  'missing-toolDisplayName',
  'missing-durationMs',
  'missing-points',
  'missing-deliveryStatus',
  'legacy-status-word',
  'unknown-status',
  'legacy-delivery-word',
  'float-cost',
  'null-cost',
  'string-cost',
  'terminal-without-responseTimestamp',
  'stuck-pending',
  'legacy-links',
  'missing-requestTimestamp',
] as const;
export type LegacyProblem = (typeof LEGACY_PROBLEMS)[number];

/** What each problem means and what the backfill does about it (used by the command's output and the docs). */
export const LEGACY_PROBLEM_REPAIRS: Readonly<Record<LegacyProblem, string>> = {
  'missing-toolDisplayName': 'toolDisplayName := toolId (or metadata.toolId)',
  'missing-durationMs': 'finished without durationMs: durationMs := responseTimestamp - requestTimestamp (never negative)',
  'missing-points': 'pointsSpent / protocolNetPoints missing, null or fractional: missing := 0, fractions rounded (points spent up)',
  'missing-deliveryStatus': 'deliveryStatus := skipped (nobody to notify), sent (deliveryTimestamp), dropped (deliveryError, or finished with nothing recorded), else pending',
  'legacy-status-word': 'status := its canonical word (completed/succeeded -> success, error -> failed, cancelled -> cancelled_by_user, queued -> pending, running/in_progress -> processing)',
  'unknown-status': 'status missing or unknown: status := failed',
  'legacy-delivery-word': 'deliveryStatus failed -> dropped (and other spellings -> canonical)',
  'float-cost': 'costUsd a JS number: costUsd := Decimal128 of its value to 15 significant digits (drops float drift)',
  'null-cost': 'costUsd null or missing: costUsd := Decimal128 0',
  'string-cost': 'costUsd a string: costUsd := Decimal128 of the decimal it spells (0 if it spells none)',
  'terminal-without-responseTimestamp': 'responseTimestamp := requestTimestamp + durationMs (or requestTimestamp when no duration is known)',
  'stuck-pending': 'pending or processing with no write for the threshold: status := timeout now, as the sweeper does',
  'legacy-links': 'castId/cookId/spellId/collectionId only under metadata: copied to the top-level fields the queries use',
  'missing-requestTimestamp': 'requestTimestamp := the time in the ObjectId _id',
};

export interface LegacyRepairOptions {
  /** The instant the repair is planned at. */
  readonly now: Date;
  /** A generation open for longer than this with no write is stuck. @default 24 hours */
  readonly stuckAfterMs?: number;
}

export const DEFAULT_STUCK_AFTER_MS = 24 * 60 * 60 * 1000;

export interface GenerationRepair {
  readonly problems: readonly LegacyProblem[];
  /** Top-level fields to `$set`; empty when the document needs nothing. */
  readonly set: Readonly<Record<string, unknown>>;
  /** The record the repaired document reads as. */
  readonly repaired: Generation;
}

type BackfilledFigure = NonNullable<CostProvenance['backfill']>['figures'][number];

/** What a legacy record held in a figure, as text for its provenance: `0.30000000000000004`, `"12.125"`, `null`, `missing`. */
function legacyValueText(raw: unknown): string {
  if (raw === undefined) return 'missing';
  if (raw === null) return 'null';
  if (typeof raw === 'number') return String(raw);
  if (typeof raw === 'string') return JSON.stringify(raw.length > 64 ? `${raw.slice(0, 64)}...` : raw);
  return `a value of type ${typeof raw === 'object' ? ((raw as { _bsontype?: string })._bsontype ?? 'object') : typeof raw}`;
}

function isWholeNumber(raw: unknown): boolean {
  return typeof raw === 'number' && Number.isInteger(raw);
}

/** What a `generationOutputs` document lacks, and the fields that repair it. */
export function planGenerationRepair(document: Document, options: LegacyRepairOptions): GenerationRepair {
  const problems: LegacyProblem[] = [];
  const fields = new Set<keyof Generation>();
  const note = (problem: LegacyProblem, ...touched: (keyof Generation)[]) => {
    problems.push(problem);
    for (const field of touched) fields.add(field);
  };
  let record = fromGenerationDocument(document);

  if (readDate(document.requestTimestamp) === null) note('missing-requestTimestamp', 'requestTimestamp');
  if (typeof document.toolDisplayName !== 'string' || document.toolDisplayName.length === 0) note('missing-toolDisplayName', 'toolDisplayName');

  const statusWord = document.status;
  if (typeof statusWord !== 'string' || normalizeGenerationStatus(statusWord) === null) note('unknown-status', 'status');
  else if (statusWord !== record.status) note('legacy-status-word', 'status');

  const pointsWrong = !isWholeNumber(document.pointsSpent) || (document.pointsSpent as number) < 0;
  const netPointsWrong = !isWholeNumber(document.protocolNetPoints);
  if (pointsWrong || netPointsWrong) note('missing-points', 'pointsSpent', 'protocolNetPoints');
  const cost = costKind(document.costUsd);
  const costRepair: LegacyProblem | null = cost === 'number' ? 'float-cost' : cost === 'null' ? 'null-cost' : cost === 'string' || cost === 'other' ? 'string-cost' : null;
  if (costRepair !== null) note(costRepair, 'costUsd');

  // The cost figures the backfill writes, with what the legacy record held: a finished record
  // keeps them as its `backfilled` provenance (below).
  const figures: BackfilledFigure[] = [];
  if (costRepair !== null) figures.push({ field: 'costUsd', was: legacyValueText(document.costUsd), repair: costRepair });
  if (pointsWrong) figures.push({ field: 'pointsSpent', was: legacyValueText(document.pointsSpent), repair: 'missing-points' });
  if (netPointsWrong) figures.push({ field: 'protocolNetPoints', was: legacyValueText(document.protocolNetPoints), repair: 'missing-points' });

  const linksOnlyInMetadata = (['castId', 'cookId', 'spellId', 'collectionId'] as const).filter(
    (link) => !(link in document) && record[link] !== null,
  );
  if (linksOnlyInMetadata.length > 0) note('legacy-links', ...linksOnlyInMetadata);

  const storedDelivery = readDeliveryStatusWord(document.deliveryStatus);
  if (storedDelivery === null) note('missing-deliveryStatus', 'deliveryStatus');
  else if (document.deliveryStatus !== storedDelivery) note('legacy-delivery-word', 'deliveryStatus');

  if (isTerminalGenerationStatus(record.status)) {
    if (readDate(document.responseTimestamp) === null) note('terminal-without-responseTimestamp', 'responseTimestamp');
    const duration = readNumber(document.durationMs);
    if (duration === null || duration < 0) note('missing-durationMs', 'durationMs');
    // The delivery decision: finished, someone to notify, nothing recorded.
    if (storedDelivery === null && record.deliveryStatus === 'pending') record = { ...record, deliveryStatus: 'dropped' };
  } else {
    const stuckAfterMs = options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
    if (options.now.getTime() - record.updatedAt.getTime() > stuckAfterMs) {
      const at = options.now;
      record = {
        ...record,
        status: 'timeout',
        responseTimestamp: at,
        durationMs: elapsedMs(record.requestTimestamp, at),
        errorDetails: record.errorDetails ?? { reason: 'stale', message: `legacy backfill: no update since ${record.updatedAt.toISOString()}; timed out` },
        updatedAt: at,
        version: record.version + 1,
      };
      note('stuck-pending', 'status', 'responseTimestamp', 'durationMs', 'errorDetails', 'updatedAt', 'version');
      if (storedDelivery === null && record.deliveryStatus === 'pending') record = { ...record, deliveryStatus: 'dropped' };
    }
  }

  // A finished record whose cost figures the backfill writes says so: source `backfilled`, with
  // what the legacy record held (explainCost shows it). One with a provenance already keeps it
  // (genledger wrote it, and its figures); an open one gets its provenance when it finishes.
  if (figures.length > 0 && isTerminalGenerationStatus(record.status) && record.costProvenance == null) {
    record = {
      ...record,
      costProvenance: { source: 'backfilled', usage: null, basis: null, unpricedReason: null, original: null, adjustments: [], backfill: { at: options.now, figures } },
    };
    fields.add('costProvenance');
  }

  const canonical = toGenerationDocument(record) as unknown as Record<string, unknown>;
  const set: Record<string, unknown> = {};
  for (const field of fields) {
    const documentField = field === 'id' ? '_id' : field;
    set[documentField] = canonical[documentField];
  }
  return { problems, set, repaired: record };
}

/** The filter that makes a repair conditional on the document still holding what was planned from. */
export function unchangedSince(document: Document, set: Readonly<Record<string, unknown>>): Document {
  const filter: Document = { _id: document._id };
  for (const field of Object.keys(set)) {
    filter[field] = field in document ? { $eq: document[field] } : { $exists: false };
  }
  return filter;
}

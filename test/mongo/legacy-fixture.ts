/**
 * A legacy `generationOutputs` dataset shaped like production's: the documents the old system
 * wrote, with every problem DESIGN.md lists, mixed. Deterministic (seeded), so a failing count
 * names the same documents every run.
 *
 * Each document is built from a recipe that says which problems it was given; `expected` tallies
 * those recipes. The tests compare the audit with that tally, so the audit's classifier is checked
 * against the generator's own intent, not against itself.
 *
 * 1,376 documents need a repair (the number production's backfill repaired) and 124 are clean.
 */
import { Decimal128, ObjectId } from 'mongodb';
import type { LegacyProblem } from 'genledger/mongo/legacy';
import { seededRandom } from '../../src/conformance/seeded-random.js';

export const FIXTURE_NOW = new Date('2025-06-01T12:00:00.000Z');
export const FIXTURE_NEEDING_REPAIR = 1376;
export const FIXTURE_CLEAN = 124;
const HOUR = 3_600_000;


export interface LegacyDataset {
  readonly generations: Record<string, unknown>[];
  readonly casts: Record<string, unknown>[];
  readonly cooks: Record<string, unknown>[];
  readonly cookCollections: Record<string, unknown>[];
  /** Documents per problem, from the recipes. */
  readonly expected: Record<LegacyProblem, number>;
  /** The problems each generation was given, by hex id. */
  readonly recipes: ReadonlyMap<string, ReadonlySet<LegacyProblem>>;
}

function objectIdAt(time: Date, next: () => number): ObjectId {
  const seconds = Math.floor(time.getTime() / 1000).toString(16).padStart(8, '0');
  const rest = Array.from({ length: 16 }, () => Math.floor(next() * 16).toString(16)).join('');
  return ObjectId.createFromHexString(seconds + rest);
}

const TERMINAL_LEGACY = ['completed', 'succeeded', 'error', 'cancelled'];
const OPEN_LEGACY = ['queued', 'running', 'in_progress'];
const UNKNOWN_WORDS = ['done?', 'ok', 'weird_state'];

/** `now` is the instant the dataset is "found" at: open records are hours old, stuck ones days old, relative to it. */
export function buildLegacyDataset(seed = 1376, now: Date = FIXTURE_NOW): LegacyDataset {
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const chance = (probability: number) => next() < probability;
  const accounts = Array.from({ length: 12 }, () => objectIdAt(new Date('2024-01-01T00:00:00Z'), next));

  const casts: Record<string, unknown>[] = [];
  const cooks: Record<string, unknown>[] = [];
  for (let index = 0; index < 6; index += 1) {
    const startedAt = new Date(now.getTime() - (200 + index) * HOUR);
    casts.push({
      _id: objectIdAt(startedAt, next),
      spellId: objectIdAt(startedAt, next),
      initiatorAccountId: pick(accounts),
      status: pick(['completed', 'running', 'success', 'failed']),
      metadata: { spellName: `spell ${index}` },
      startedAt,
      updatedAt: new Date(startedAt.getTime() + HOUR),
      stepGenerationIds: [],
      costUsd: null,
    });
  }
  for (let index = 0; index < 3; index += 1) {
    const startedAt = new Date(now.getTime() - (300 + index) * HOUR);
    cooks.push({
      _id: objectIdAt(startedAt, next),
      collectionId: `collection-${index}`,
      initiatorAccountId: pick(accounts),
      targetSupply: 10,
      generatedCount: 0,
      status: pick(['running', 'completed']),
      metadata: {},
      startedAt,
      updatedAt: startedAt,
      generationIds: [],
      costUsd: null,
      events: [{ type: 'started', at: startedAt }],
    });
  }

  const generations: Record<string, unknown>[] = [];
  const recipes = new Map<string, Set<LegacyProblem>>();
  const expected = Object.fromEntries(
    [
      'missing-toolDisplayName', 'missing-durationMs', 'missing-points', 'missing-deliveryStatus', 'legacy-status-word', 'unknown-status',
      'legacy-delivery-word', 'float-cost', 'null-cost', 'string-cost', 'terminal-without-responseTimestamp', 'stuck-pending', 'legacy-links',
      'missing-requestTimestamp',
    ].map((problem) => [problem, 0]),
  ) as Record<LegacyProblem, number>;

  for (let index = 0; index < FIXTURE_NEEDING_REPAIR + FIXTURE_CLEAN; index += 1) {
    const clean = index >= FIXTURE_NEEDING_REPAIR;
    const problems = new Set<LegacyProblem>();
    const give = (problem: LegacyProblem, probability: number) => {
      if (!clean && chance(probability)) problems.add(problem);
      return problems.has(problem);
    };

    // Which life the record had: finished, still open and recent, or stuck open.
    const life = clean ? pick(['terminal', 'terminal', 'terminal', 'open']) : pick(['terminal', 'terminal', 'terminal', 'terminal', 'open', 'stuck']);
    const requestTimestamp =
      life === 'open' ? new Date(now.getTime() - Math.floor(next() * 6 * HOUR)) : new Date(now.getTime() - (30 + Math.floor(next() * 2000)) * HOUR);
    const _id = objectIdAt(requestTimestamp, next);
    const document: Record<string, unknown> = {
      _id,
      masterAccountId: pick(accounts),
      sessionId: objectIdAt(requestTimestamp, next),
      initiatingEventId: objectIdAt(requestTimestamp, next),
      serviceName: pick(['comfyui', 'openai', 'replicate']),
      toolId: pick(['sdxl', 'flux-dev', 'dall-e-3', 'upscale']),
      notificationPlatform: pick(['telegram', 'discord', 'web', 'none']),
      deliveryStrategy: chance(0.2) ? 'spell_step' : null,
      platformSpecificRunId: `run-${index}`,
      requestTimestamp,
      requestPayload: { prompt: `prompt ${index}`, seed: index },
      metadata: { notificationContext: { chatId: 1000 + index }, jobStartTime: requestTimestamp },
    };
    document.toolDisplayName = String(document.toolId).toUpperCase();
    document.deliveryStatus = document.notificationPlatform === 'none' ? 'skipped' : 'pending';

    if (life === 'terminal') {
      const outcome = pick(['success', 'success', 'failed', 'cancelled_by_user', 'timeout']);
      document.status = outcome;
      if (give('unknown-status', 0.03)) document.status = pick(UNKNOWN_WORDS);
      else if (give('legacy-status-word', 0.3)) document.status = outcome === 'success' ? pick(['completed', 'succeeded']) : outcome === 'failed' ? 'error' : outcome === 'cancelled_by_user' ? 'cancelled' : outcome;
      if (problems.has('legacy-status-word') && document.status === 'timeout') problems.delete('legacy-status-word');
      const duration = 1000 + Math.floor(next() * 90_000);
      document.responseTimestamp = new Date(requestTimestamp.getTime() + duration);
      document.durationMs = duration;
      document.responsePayload = { images: [`https://cdn.example/${index}.png`] };
      document.artifactUrls = [`https://cdn.example/${index}.png`];
      if (document.notificationPlatform !== 'none') document.deliveryStatus = pick(['sent', 'sent', 'pending']);
      if (document.deliveryStatus === 'sent') document.deliveryTimestamp = new Date(requestTimestamp.getTime() + duration + 500);
      if (give('terminal-without-responseTimestamp', 0.15)) delete document.responseTimestamp;
      if (give('missing-durationMs', 0.35)) delete document.durationMs;
    } else {
      document.status = pick(['pending', 'processing']);
      if (give('legacy-status-word', 0.3)) document.status = pick(OPEN_LEGACY);
      if (life === 'stuck') problems.add('stuck-pending');
    }

    if (give('missing-toolDisplayName', 0.2)) delete document.toolDisplayName;
    document.pointsSpent = Math.floor(next() * 50);
    document.protocolNetPoints = Math.floor(next() * 10) - 5;
    if (give('missing-points', 0.25)) {
      const how = pick(['missing', 'null', 'float']);
      if (how === 'missing') delete document.pointsSpent;
      else if (how === 'null') document.pointsSpent = null;
      else document.protocolNetPoints = 2.5;
    }

    const costRoll = clean ? 1 : next();
    if (costRoll < 0.2) {
      problems.add('float-cost');
      document.costUsd = pick([0.1 + 0.2, 0.0042, 1.25, 0.07 * 3]);
    } else if (costRoll < 0.35) {
      problems.add('null-cost');
      if (chance(0.5)) document.costUsd = null;
    } else if (costRoll < 0.45) {
      problems.add('string-cost');
      document.costUsd = pick(['0.0042', '0.5', '12.125']);
    } else {
      document.costUsd = Decimal128.fromString(pick(['0', '0.01', '0.0042', '0.125']));
    }

    if (give('missing-deliveryStatus', 0.2)) delete document.deliveryStatus;
    else if (document.deliveryStatus === 'pending' && life === 'terminal' && give('legacy-delivery-word', 0.3)) {
      document.deliveryStatus = 'failed';
      document.deliveryError = 'bot was blocked by the user';
    }

    if (chance(0.3)) {
      const cast = pick(casts);
      if (give('legacy-links', 0.7)) Object.assign(document.metadata as object, { castId: cast._id, spellId: cast.spellId });
      else Object.assign(document, { castId: cast._id, spellId: cast.spellId });
    } else if (chance(0.15)) {
      const cook = pick(cooks);
      if (give('legacy-links', 0.7)) Object.assign(document.metadata as object, { cookId: cook._id, collectionId: cook.collectionId });
      else Object.assign(document, { cookId: cook._id, collectionId: cook.collectionId });
    }

    if (give('missing-requestTimestamp', 0.02)) delete document.requestTimestamp;

    // A record meant to need repair that drew no problem gets the most common one.
    if (!clean && problems.size === 0) {
      problems.add('missing-toolDisplayName');
      delete document.toolDisplayName;
    }
    for (const problem of problems) expected[problem] += 1;
    recipes.set(_id.toHexString(), problems);
    generations.push(document);
  }

  const cookCollections = cooks.map((cook) => ({ _id: cook.collectionId, name: `Collection ${String(cook.collectionId)}`, supply: 10 }));
  return { generations, casts, cooks, cookCollections, expected, recipes };
}

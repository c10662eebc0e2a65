/**
 * Re-pricing: after a price changes, `reprice()` reports the differences (dry run) and applies
 * them as adjustments (`adjustGeneration`): the generation keeps its first figures, its parents
 * receive the difference exactly, a second run changes nothing, and a re-price racing new
 * completions and another re-price stays exact. Stores without `adjustGeneration` run the
 * dry-run checks and skip the apply checks, saying why.
 */
import { describe, expect, it } from 'vitest';
import type { PriceTableInput } from '../domain/pricing.js';
import type { Cast, Cook, Generation } from '../domain/records.js';
import { addSignedUsd, priceUsage, priceTableSchema } from '../domain/pricing.js';
import { ceilUsdTimes, parseSignedUsdUnits, parseUsdUnits, toUsdAmount } from '../domain/money.js';
import { createTracker } from '../tracker/create-tracker.js';
import { ConflictError } from '../errors.js';
import type { LedgerRepository } from '../port.js';
import { forEachLimited } from '../tracker/concurrency.js';
import { adjust, type CostCorrection } from '../domain/rollup/adjustment.js';
import type { RepriceInput, RepriceReport } from '../tracker/pricing.js';
import type { Tracker } from '../tracker/create-tracker.js';
import { auditLedger } from './ledger-audit.js';
import { generationInput } from './harness.js';
import { createPricingSetup, PRICES, T0, T1 } from './part-pricing.js';
import type { ConformanceTarget } from './types.js';

/** {@link PRICES} with chat-v2's output price corrected from 0.00001 to 0.000012. */
export const CORRECTED_PRICES: PriceTableInput = PRICES.map((entry) =>
  entry.toolId === 'tool-chat' && entry.serviceName === undefined
    ? {
        ...entry,
        versions: [
          entry.versions[0]!,
          { id: 'chat-v2-fixed', effectiveFrom: T1, units: { inputTokens: '0.0000025', outputTokens: '0.000012' }, pointsPerUsd: '1000' },
        ],
      }
    : entry,
);

const END = new Date('2026-12-31T00:00:00.000Z');

/** Every page of a re-price, in order. */
export async function repriceAll(tracker: Tracker, input: Omit<RepriceInput, 'cursor'>): Promise<RepriceReport[]> {
  const pages: RepriceReport[] = [];
  let cursor: string | null = null;
  do {
    const page: RepriceReport = await tracker.reprice({ ...input, cursor });
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

const canAdjust = (repository: LedgerRepository) => typeof repository.adjustGeneration === 'function';
const noAdjustReason = (target: ConformanceTarget) => `${target.name} has no adjustGeneration(): re-pricing runs as a dry run only there`;

/** A cook with a cast piece, 12 chat generations under them at v2 prices (plus one v1, one image, one reported). */
async function bookedWork(tracker: Tracker) {
  const cook = await tracker.startCook({ collectionId: 'collection-r', initiatorAccountId: 'account-r', targetSupply: 1000 });
  const cast = await tracker.startCast({ spellId: 'spell-r', initiatorAccountId: 'account-r', cookId: cook.id });
  const lone = await tracker.startCast({ spellId: 'spell-r', initiatorAccountId: 'account-r' });
  const ids: string[] = [];
  for (let index = 0; index < 12; index += 1) {
    const parent = index % 3 === 0 ? { castId: cast.id } : index % 3 === 1 ? { cookId: cook.id } : { castId: lone.id };
    // Two accounts, so the report's per-account sums have more than one line to get right.
    const masterAccountId = index % 4 === 3 ? 'account-s' : 'account-r';
    const generation = await tracker.recordGeneration(generationInput({ ...parent, toolId: 'tool-chat', masterAccountId, requestTimestamp: new Date(T1.getTime() + index * 1000) }));
    await tracker.completeGeneration(generation.id, { status: index === 4 ? 'failed' : 'success', usage: { inputTokens: 100 * (index + 1), outputTokens: 1000 + index } });
    ids.push(generation.id);
  }
  const early = await tracker.recordGeneration(generationInput({ castId: lone.id, toolId: 'tool-chat', requestTimestamp: new Date(T0.getTime() + 5) }));
  await tracker.completeGeneration(early.id, { status: 'success', usage: { inputTokens: 10, outputTokens: 10 } });
  const image = await tracker.recordGeneration(generationInput({ castId: lone.id, toolId: 'tool-image', requestTimestamp: T1 }));
  await tracker.completeGeneration(image.id, { status: 'success', usage: { images: 3 } });
  const reported = await tracker.recordGeneration(generationInput({ cookId: cook.id, toolId: 'tool-chat', requestTimestamp: new Date(T1.getTime() + 500) }));
  await tracker.completeGeneration(reported.id, { status: 'success', costUsd: '0.75', usage: { inputTokens: 5, outputTokens: 5 } });
  return { cookIds: [cook.id], castIds: [cast.id, lone.id], chatIds: ids, early: early.id, image: image.id, reported: reported.id };
}

/** The cost `generation` has under `prices`, independently of the tracker. */
function expectedCost(generation: Generation, prices: PriceTableInput): string {
  const priced = priceUsage(priceTableSchema.parse(prices), generation.toolId, generation.serviceName, generation.costProvenance!.usage!, generation.requestTimestamp);
  if (!priced.priced) throw new Error(priced.reason);
  return priced.costUsd;
}

export function repricingTests(target: ConformanceTarget): void {
  describe(`${target.name}: repricing`, () => {
    it('a dry run reports the differences per generation and per parent, and writes nothing', async () => {
      const setup = await createPricingSetup(target);
      const work = await bookedWork(setup.tracker);
      const before = await Promise.all([...work.chatIds, work.early, work.image, work.reported].map((id) => setup.inspect.generation(id)));
      const parentsBefore = await Promise.all([setup.inspect.cook(work.cookIds[0]!), ...work.castIds.map((id) => setup.inspect.cast(id))]);
      setup.tracker.setPrices(CORRECTED_PRICES);
      const progress: number[] = [];
      const pages = await repriceAll(setup.tracker, { toolId: 'tool-chat', from: T0, to: END, dryRun: true, limit: 5, onProgress: (report) => progress.push(report.scanned) });
      expect(pages.length).toBeGreaterThan(1);
      // The tool's 14 generations are read; the image generation in the range is not (the store's
      // toolId filter: a store that ignores it reads 15).
      expect(progress.reduce((sum, scanned) => sum + scanned, 0)).toBe(14);
      const differences = pages.flatMap((page) => page.differences);
      // The 12 v2 generations differ (output price up); the v1 one, the image and the reported cost do not.
      expect(differences.map((difference) => difference.generationId).sort()).toEqual([...work.chatIds].sort());
      expect(differences.every((difference) => !difference.applied && difference.fromVersionId === 'chat-v2' && difference.toVersionId === 'chat-v2-fixed')).toBe(true);
      for (const difference of differences) {
        // 0.000002 more per output token.
        const generation = before.find((stored) => stored?.id === difference.generationId)!;
        expect(difference.deltaUsd).toBe(toUsdAmount(`${2 * generation.costProvenance!.usage!.outputTokens!}e-6`));
        expect(difference.costUsd).toBe(expectedCost(generation, CORRECTED_PRICES));
      }
      expect(pages.reduce((sum, page) => sum + page.skipped.reported, 0)).toBe(1);
      const parentDeltas = pages.flatMap((page) => page.parents);
      expect(parentDeltas.length).toBeGreaterThan(0);
      // Per account: the sum of its generations' differences, computed here from the stored records.
      const expectedAccounts = new Map<string, { units: bigint; points: number; generations: number }>();
      for (const generation of before.filter((stored) => work.chatIds.includes(stored!.id))) {
        const entry = expectedAccounts.get(generation!.masterAccountId) ?? { units: 0n, points: 0, generations: 0 };
        const costUsd = expectedCost(generation!, CORRECTED_PRICES);
        entry.units += parseUsdUnits(costUsd) - parseUsdUnits(generation!.costUsd);
        entry.points += Number(ceilUsdTimes(costUsd, '1000')) - generation!.pointsSpent;
        entry.generations += 1;
        expectedAccounts.set(generation!.masterAccountId, entry);
      }
      expect(expectedAccounts.size).toBe(2);
      const reportedAccounts = new Map<string, { units: bigint; points: number; generations: number }>();
      for (const account of pages.flatMap((page) => page.accounts)) {
        const entry = reportedAccounts.get(account.masterAccountId) ?? { units: 0n, points: 0, generations: 0 };
        entry.units += parseSignedUsdUnits(account.deltaUsd);
        entry.points += account.deltaPoints;
        entry.generations += account.generations;
        reportedAccounts.set(account.masterAccountId, entry);
      }
      expect(reportedAccounts).toEqual(expectedAccounts);
      // Within a page, one line per account.
      for (const page of pages) expect(new Set(page.accounts.map((account) => account.masterAccountId)).size).toBe(page.accounts.length);
      // Nothing written.
      expect(await Promise.all([...work.chatIds, work.early, work.image, work.reported].map((id) => setup.inspect.generation(id)))).toEqual(before);
      expect(await Promise.all([setup.inspect.cook(work.cookIds[0]!), ...work.castIds.map((id) => setup.inspect.cast(id))])).toEqual(parentsBefore);
    });

    it('reprice({ dryRun: false }) on a store without adjustGeneration() is a ConflictError on input.dryRun, writing nothing', async () => {
      const setup = await createPricingSetup(target);
      const work = await bookedWork(setup.tracker);
      const without: LedgerRepository = { ...setup.repository, adjustGeneration: undefined };
      const tracker = setup.newTracker(CORRECTED_PRICES);
      const limited = createTracker({ repository: without, clock: setup.clock, ids: setup.ids, prices: CORRECTED_PRICES });
      await expect(limited.reprice({ toolId: 'tool-chat', from: T0, to: END, dryRun: false })).rejects.toMatchObject({ field: 'input.dryRun' });
      await expect(limited.reprice({ toolId: 'tool-chat', from: T0, to: END, dryRun: false })).rejects.toBeInstanceOf(ConflictError);
      expect((await tracker.getGeneration(work.chatIds[0]!))?.costProvenance?.adjustments).toEqual([]);
      await expect(tracker.reprice({ toolId: 'tool-chat', from: END, to: T0, dryRun: true })).rejects.toMatchObject({ field: 'input.to' });
    });

    it('applying keeps the original and appends an adjustment; parents receive the difference exactly; a second run changes nothing', async (context) => {
      const setup = await createPricingSetup(target);
      if (!canAdjust(setup.repository)) return context.skip(noAdjustReason(target));
      // A balance on one of the accounts: applying a re-price reports its sum and does not move it.
      const withAccounts = setup.repository.capabilities.accounts;
      if (withAccounts) await setup.tracker.credit('account-r', { points: 500, costUsd: '5', reason: 'grant', idempotencyKey: 'reprice-grant' });
      const work = await bookedWork(setup.tracker);
      const first = await setup.tracker.getGeneration(work.chatIds[1]!);
      const cookBefore = (await setup.tracker.getCook(work.cookIds[0]!))!;
      const accountBefore = withAccounts ? await setup.tracker.getAccount('account-r') : null;
      setup.tracker.setPrices(CORRECTED_PRICES);
      const pages = await repriceAll(setup.tracker, { toolId: 'tool-chat', from: T0, to: END, dryRun: false, limit: 4 });
      const differences = pages.flatMap((page) => page.differences);
      expect(differences).toHaveLength(12);
      expect(differences.every((difference) => difference.applied)).toBe(true);
      const accountSums = pages.flatMap((page) => page.accounts);
      expect(accountSums.reduce((sum, account) => sum + account.generations, 0)).toBe(12);
      expect(accountSums.reduce((sum, account) => sum + parseSignedUsdUnits(account.deltaUsd), 0n)).toBe(pages.reduce((sum, page) => sum + parseSignedUsdUnits(page.totalDeltaUsd), 0n));
      if (withAccounts) expect(await setup.tracker.getAccount('account-r')).toEqual(accountBefore);
      const adjusted = (await setup.inspect.generation(work.chatIds[1]!))!;
      expect(adjusted.costUsd).toBe(expectedCost(adjusted, CORRECTED_PRICES));
      expect(adjusted.costProvenance).toMatchObject({
        source: 'repriced',
        original: { source: 'computed', costUsd: first!.costUsd, pointsSpent: first!.pointsSpent },
        basis: { versionId: 'chat-v2-fixed' },
      });
      expect(adjusted.costProvenance?.adjustments).toHaveLength(1);
      expect(adjusted.costProvenance?.adjustments[0]).toMatchObject({ fromVersionId: 'chat-v2', toVersionId: 'chat-v2-fixed', previousCostUsd: first!.costUsd, costUsd: adjusted.costUsd });
      // Every parent is the exact sum of its children.
      expect(await auditLedger(setup.tracker, work.cookIds, work.castIds)).toEqual([]);
      const cookDelta = pages.flatMap((page) => page.parents).filter((parent) => parent.kind === 'cook');
      const cookAfter = (await setup.tracker.getCook(work.cookIds[0]!))!;
      expect(cookAfter.costUsd).toBe(cookDelta.reduce((sum, parent) => addSignedUsd(sum, parent.deltaUsd), cookBefore.costUsd));
      // Explained with both figures.
      const explanation = await setup.tracker.explainCost(work.chatIds[1]!);
      expect(explanation.lines.some((line) => line.startsWith('adjusted ') && line.includes('"chat-v2" -> "chat-v2-fixed"'))).toBe(true);
      // Again: nothing differs, nothing is written.
      const versions = await Promise.all(work.chatIds.map(async (id) => (await setup.inspect.generation(id))!.version));
      const again = await repriceAll(setup.tracker, { toolId: 'tool-chat', from: T0, to: END, dryRun: false });
      expect(again.flatMap((page) => page.differences)).toEqual([]);
      expect(await Promise.all(work.chatIds.map(async (id) => (await setup.inspect.generation(id))!.version))).toEqual(versions);
      expect(await auditLedger(setup.tracker, work.cookIds, work.castIds)).toEqual([]);
    });

    it('adjustGeneration() leaves exactly what adjust() (the domain) leaves, and a repeat with the old adjustment count changes nothing', async (context) => {
      const setup = await createPricingSetup(target);
      if (!canAdjust(setup.repository)) return context.skip(noAdjustReason(target));
      const work = await bookedWork(setup.tracker);
      // A step of a cast that is a cook piece: the difference reaches the cast and the cook.
      const id = work.chatIds[0]!;
      const before = (await setup.inspect.generation(id))!;
      const castBefore = await setup.inspect.cast(before.castId!);
      const cookBefore = await setup.inspect.cook(before.cookId!);
      const priced = priceUsage(priceTableSchema.parse(CORRECTED_PRICES), before.toolId, before.serviceName, before.costProvenance!.usage!, before.requestTimestamp, '1000');
      if (!priced.priced) throw new Error(priced.reason);
      const correction = { expectedAdjustments: 0, costUsd: priced.costUsd, pointsSpent: before.pointsSpent + 3, basis: priced.basis, at: new Date('2026-07-01T00:00:00.000Z') };
      const expected = adjust(before, castBefore, cookBefore, correction);
      expect(expected.generation.changed && expected.cast?.changed && expected.cook?.changed).toBe(true);
      const result = await setup.repository.adjustGeneration!(id, correction);
      expect(result).toEqual(expected);
      expect(await setup.inspect.generation(id)).toEqual(expected.generation.record);
      expect(await setup.inspect.cast(before.castId!)).toEqual(expected.cast!.record);
      expect(await setup.inspect.cook(before.cookId!)).toEqual(expected.cook!.record);
      // The same correction again: the count moved, nothing is written.
      const repeat = await setup.repository.adjustGeneration!(id, { ...correction, at: new Date('2026-07-02T00:00:00.000Z') });
      expect(repeat).toEqual({ generation: { changed: false, record: expected.generation.record, previousStatus: 'success' }, cast: null, cook: null });
      expect(await setup.inspect.cook(before.cookId!)).toEqual(expected.cook!.record);
      // An open generation is not adjusted; an unknown one is null.
      const open = await setup.tracker.recordGeneration(generationInput({ toolId: 'tool-chat', castId: work.castIds[1]! }));
      expect((await setup.repository.adjustGeneration!(open.id, correction))?.generation.changed).toBe(false);
      expect(await setup.repository.adjustGeneration!(target.idFormat === 'objectId' ? 'ffffffffffffffffffffffff' : 'no-such-generation', correction)).toBeNull();
      expect(await auditLedger(setup.tracker, work.cookIds, work.castIds)).toEqual([]);
    });

    it('adjustGenerations() returns and leaves exactly what adjust() (the domain) applied one call after another leaves: shared parents, repeats, successive corrections of one generation, more calls than one statement takes', async (context) => {
      const setup = await createPricingSetup(target);
      if (typeof setup.repository.adjustGenerations !== 'function') return context.skip(`${target.name} has no adjustGenerations(): re-prices call adjustGeneration() once per difference there`);
      const work = await bookedWork(setup.tracker);
      const extra: string[] = [];
      for (let index = 0; index < 110; index += 1) {
        const parent = index % 2 === 0 ? { castId: work.castIds[1]! } : { cookId: work.cookIds[0]! };
        const generation = await setup.tracker.recordGeneration(generationInput({ ...parent, toolId: 'tool-chat', requestTimestamp: new Date(T1.getTime() + 50_000 + index) }));
        await setup.tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 10 + index, outputTokens: 100 } });
        extra.push(generation.id);
      }
      const open = await setup.tracker.recordGeneration(generationInput({ toolId: 'tool-chat', castId: work.castIds[1]! }));
      const missing = target.idFormat === 'objectId' ? 'ffffffffffffffffffffffff' : 'no-such-generation';
      // The records as stored, folded through the domain's adjust() call by call.
      const generations = new Map<string, Generation>();
      for (const id of [...work.chatIds, ...extra, open.id]) generations.set(id, (await setup.inspect.generation(id))!);
      const parents = new Map<string, Cast | Cook>();
      for (const id of work.castIds) parents.set(id, (await setup.inspect.cast(id))!);
      for (const id of work.cookIds) parents.set(id, (await setup.inspect.cook(id))!);
      const calls: { id: string; correction: CostCorrection }[] = [];
      const base = new Date('2026-07-01T00:00:00.000Z').getTime();
      const call = (id: string, expectedAdjustments: number, costUsd: string, pointsSpent: number) => {
        const basis = generations.get(id)?.costProvenance?.basis ?? generations.get(work.chatIds[0]!)!.costProvenance!.basis!;
        calls.push({ id, correction: { expectedAdjustments, costUsd, pointsSpent, basis: { ...basis, versionId: `v-${calls.length}` }, at: new Date(base + calls.length * 1000) } });
      };
      // Every generation once (the casts and the cook shared by many), more than 100 calls in all.
      for (const [index, id] of [...work.chatIds, ...extra].entries()) call(id, 0, toUsdAmount(`0.${String(index + 1).padStart(4, '0')}`), index + 1);
      call(work.chatIds[0]!, 0, '9', 9); // a repeat with the count it read before: its gate is closed
      call(work.chatIds[1]!, 1, '7.5', 75); // a second correction, read after the first: applied on top
      call(work.chatIds[1]!, 2, '7.5', 75); // nothing differs
      call(work.chatIds[2]!, 1, '0', 0);
      call(open.id, 0, '1', 1); // not finished
      call(missing, 0, '1', 1);
      const expected = calls.map(({ id, correction }) => {
        const generation = generations.get(id);
        if (generation === undefined) return null;
        const cast = generation.castId === null ? null : ((parents.get(generation.castId) as Cast | undefined) ?? null);
        const cook = generation.cookId === null ? null : ((parents.get(generation.cookId) as Cook | undefined) ?? null);
        const result = adjust(generation, cast, cook, correction);
        generations.set(id, result.generation.record);
        if (result.cast) parents.set(result.cast.record.id, result.cast.record);
        if (result.cook) parents.set(result.cook.record.id, result.cook.record);
        return result;
      });
      expect(expected.filter((result) => result?.generation.changed).length).toBe(work.chatIds.length + extra.length + 2);
      const results = await setup.repository.adjustGenerations(calls);
      expect(results).toEqual(expected);
      for (const [id, generation] of generations) expect(await setup.inspect.generation(id)).toEqual(generation);
      for (const id of work.castIds) expect(await setup.inspect.cast(id)).toEqual(parents.get(id));
      for (const id of work.cookIds) expect(await setup.inspect.cook(id)).toEqual(parents.get(id));
      expect(await auditLedger(setup.tracker, work.cookIds, work.castIds)).toEqual([]);
    });

    it('generations recorded out of time order (request times against insertion order, ties, the range bounds) are each listed and re-priced once, in request-time order', async (context) => {
      const setup = await createPricingSetup(target);
      const cast = await setup.tracker.startCast({ spellId: 'spell-o', initiatorAccountId: 'account-o' });
      const FROM = new Date(T1.getTime() + 10_000);
      const TO = new Date(T1.getTime() + 20_000);
      // Insertion order against request time: descending, interleaved, three ties on one instant, one
      // on each bound (`from` is in the range, `to` is not) and one on either side outside it.
      const offsets = [9_000, 100, 5_000, 5_000, 8_999, 0, 5_000, 10_000, 1, -1, 7_000, 3_000];
      const inRange: { id: string; at: number }[] = [];
      for (const offset of offsets) {
        const requestTimestamp = new Date(FROM.getTime() + offset);
        const generation = await setup.tracker.recordGeneration(generationInput({ castId: cast.id, toolId: 'tool-chat', masterAccountId: 'account-o', requestTimestamp }));
        await setup.tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 10 + offsets.length, outputTokens: 500 } });
        if (requestTimestamp >= FROM && requestTimestamp < TO) inRange.push({ id: generation.id, at: requestTimestamp.getTime() });
      }
      expect(inRange).toHaveLength(offsets.length - 2);
      setup.tracker.setPrices(CORRECTED_PRICES);
      const listed = async (dryRun: boolean) => {
        const pages = await repriceAll(setup.tracker, { toolId: 'tool-chat', from: FROM, to: TO, dryRun, limit: 3 });
        expect(pages.reduce((sum, page) => sum + page.scanned, 0)).toBe(inRange.length);
        return pages.flatMap((page) => page.differences);
      };
      const stored = new Map<string, Generation>();
      for (const { id } of inRange) stored.set(id, (await setup.inspect.generation(id))!);
      const dry = await listed(true);
      // Each generation in the range once; request-time order (pages of 3 cut through the ties).
      expect(dry.map((difference) => difference.generationId).sort()).toEqual(inRange.map((entry) => entry.id).sort());
      const times = dry.map((difference) => stored.get(difference.generationId)!.requestTimestamp.getTime());
      expect(times).toEqual([...times].sort((left, right) => left - right));
      if (!canAdjust(setup.repository)) return context.skip(noAdjustReason(target));
      const applied = await listed(false);
      expect(applied.map((difference) => difference.generationId)).toEqual(dry.map((difference) => difference.generationId));
      for (const { id } of inRange) {
        const generation = (await setup.inspect.generation(id))!;
        expect(generation.costProvenance?.adjustments).toHaveLength(1);
        expect(generation.costUsd).toBe(expectedCost(generation, CORRECTED_PRICES));
      }
      expect(await auditLedger(setup.tracker, [], [cast.id])).toEqual([]);
      expect(await listed(false)).toEqual([]);
    });

    it('two re-prices racing each other and 64 new completions at a time leave every generation priced once and every parent exact', async (context) => {
      const setup = await createPricingSetup(target);
      if (!canAdjust(setup.repository)) return context.skip(noAdjustReason(target));
      const work = await bookedWork(setup.tracker);
      // Open generations in the range, completed while the re-prices run.
      const open: string[] = [];
      for (let index = 0; index < 96; index += 1) {
        const parent = index % 2 === 0 ? { castId: work.castIds[1]! } : { cookId: work.cookIds[0]! };
        open.push((await setup.tracker.recordGeneration(generationInput({ ...parent, toolId: 'tool-chat', requestTimestamp: new Date(T1.getTime() + 100 + index) }))).id);
      }
      setup.tracker.setPrices(CORRECTED_PRICES);
      const second = setup.newTracker(CORRECTED_PRICES);
      await Promise.all([
        repriceAll(setup.tracker, { toolId: 'tool-chat', from: T0, to: END, dryRun: false, limit: 7 }),
        repriceAll(second, { toolId: 'tool-chat', from: T0, to: END, dryRun: false, limit: 5 }),
        forEachLimited(open, 64, async (id) => {
          await setup.tracker.completeGeneration(id, { status: 'success', usage: { inputTokens: 50, outputTokens: 333 } });
        }),
      ]);
      for (const id of [...work.chatIds, ...open]) {
        const generation = (await setup.inspect.generation(id))!;
        expect(generation.costUsd).toBe(expectedCost(generation, CORRECTED_PRICES));
        expect(generation.costProvenance!.adjustments.length).toBeLessThanOrEqual(1);
      }
      expect(await auditLedger(setup.tracker, work.cookIds, work.castIds)).toEqual([]);
      const again = await repriceAll(second, { toolId: 'tool-chat', from: T0, to: END, dryRun: true });
      expect(again.flatMap((page) => page.differences)).toEqual([]);
    });
  });
}

/**
 * Concurrency: 10,000 completions over 50 parents (casts, cooks of generations, cooks of casts),
 * issued 64 at a time in random order, 10% of them delivered twice: every aggregate exact.
 */
import { describe, expect, it } from 'vitest';
import { sumUsd } from '../domain/money.js';
import { TERMINAL_GENERATION_STATUSES } from '../domain/status.js';
import { forEachLimited } from '../tracker/concurrency.js';
import { auditLedger } from './ledger-audit.js';
import { createHarness, generationInput } from './harness.js';
import type { ConformanceTarget } from './types.js';
import { seededRandom } from './seeded-random.js';


export const CONCURRENCY = { completions: 10_000, parents: 50, concurrency: 64, duplicateShare: 0.1 } as const;

export function concurrencyTests(target: ConformanceTarget): void {
  describe(`${target.name}: concurrency`, () => {
    it(
      `${CONCURRENCY.completions} completions over ${CONCURRENCY.parents} parents, ${CONCURRENCY.concurrency} at a time, 10% delivered twice, in random order: every aggregate exact`,
      async () => {
        const harness = await createHarness(target);
        const seed = Number(process.env.GENLEDGER_SEED) || 20261125;
        const random = seededRandom(seed);
        const { tracker } = harness;
        // 50 parents: 20 lone casts, 15 cooks of generation pieces, 15 cooks of 4 cast pieces each.
        const casts: string[] = [];
        const cooks: string[] = [];
        const slots: { castId?: string; cookId?: string }[] = [];
        for (let index = 0; index < 20; index += 1) {
          const cast = await tracker.startCast({ spellId: 'spell-c', initiatorAccountId: 'account-c' });
          casts.push(cast.id);
          slots.push({ castId: cast.id });
        }
        for (let index = 0; index < 15; index += 1) {
          const cook = await tracker.startCook({ collectionId: `collection-${index}`, initiatorAccountId: 'account-c', targetSupply: 1_000_000 });
          cooks.push(cook.id);
          slots.push({ cookId: cook.id });
        }
        for (let index = 0; index < 15; index += 1) {
          const cook = await tracker.startCook({ collectionId: `collection-cast-${index}`, initiatorAccountId: 'account-c', targetSupply: 1_000_000 });
          cooks.push(cook.id);
          for (let piece = 0; piece < 4; piece += 1) {
            const cast = await tracker.startCast({ spellId: 'spell-c', initiatorAccountId: 'account-c', cookId: cook.id });
            casts.push(cast.id);
            slots.push({ castId: cast.id });
          }
        }
        const started = Date.now();
        const generations: string[] = [];
        await forEachLimited(
          Array.from({ length: CONCURRENCY.completions }, (_unused, index) => slots[index % slots.length]!),
          CONCURRENCY.concurrency,
          async (slot) => {
            generations.push((await tracker.recordGeneration(generationInput({ ...slot, masterAccountId: 'account-c' }))).id);
          },
        );
        const recorded = Date.now();
        const costs = ['0.0001', '0.1', '0.2', '0.3333', '1.25', '0.000000000000000001'];
        // No `cancelled_by_user` here: a step cancelled by its user cancels its cast and the cast's
        // other steps, whose own completions would then be refused by design (the property test
        // covers those races). Every completion below must land.
        const statuses = TERMINAL_GENERATION_STATUSES.filter((status) => status !== 'cancelled_by_user');
        const completions = generations.map((id) => ({
          id,
          input: {
            status: statuses[Math.floor(random() * statuses.length)]!,
            pointsSpent: Math.floor(random() * 100),
            protocolNetPoints: Math.floor(random() * 21) - 10,
            costUsd: costs[Math.floor(random() * costs.length)]!,
          },
        }));
        const deliveries = [...completions];
        for (const completion of completions) if (random() < CONCURRENCY.duplicateShare) deliveries.push(completion);
        for (let index = deliveries.length - 1; index > 0; index -= 1) {
          const swap = Math.floor(random() * (index + 1));
          [deliveries[index], deliveries[swap]] = [deliveries[swap]!, deliveries[index]!];
        }
        await forEachLimited(deliveries, CONCURRENCY.concurrency, async ({ id, input }) => {
          await tracker.completeGeneration(id, input);
        });
        const completed = Date.now();

        const problems = await auditLedger(tracker, cooks, casts);
        expect(problems).toEqual([]);
        const expectedCost = sumUsd(completions.map((completion) => completion.input.costUsd));
        const expectedPoints = completions.reduce((sum, completion) => sum + completion.input.pointsSpent, 0);
        const allCasts = await Promise.all(casts.slice(0, 20).map((castId) => tracker.getCast(castId)));
        const allCooks = await Promise.all(cooks.map((cookId) => tracker.getCook(cookId)));
        const storedCost = sumUsd([...allCasts, ...allCooks].map((parent) => parent!.costUsd));
        const storedPoints = [...allCasts, ...allCooks].reduce((sum, parent) => sum + parent!.pointsSpent, 0);
        expect(storedCost).toBe(expectedCost);
        expect(storedPoints).toBe(expectedPoints);
        console.log(
          `[genledger conformance] ${target.name} concurrency: ${completions.length} completions (+${deliveries.length - completions.length} duplicates) ` +
            `over 50 parents (20 casts, 15 cooks of generations, 15 cooks of 4 casts: ${casts.length + cooks.length} parent records) at ${CONCURRENCY.concurrency}-way, ` +
            `seed ${seed}: total $${storedCost} and ${storedPoints} points exact, ` +
            `0 audit problems; recorded in ${recorded - started} ms, completed in ${completed - recorded} ms ` +
            `(${Math.round((deliveries.length * 1000) / Math.max(1, completed - recorded))} completions/s)`,
        );
      },
      (target.timeoutMs ?? 60_000) * 10,
    );
  });
}

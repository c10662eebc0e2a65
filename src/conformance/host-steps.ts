/**
 * The building blocks of a host program for the crash tests (the conformance suite's crash part,
 * and MongoDB's crash-at-every-driver-write test): each step is one public call, retried as a
 * whole if it fails, with creations keyed so a retry gets the first record.
 */
import type { Tracker } from '../tracker/create-tracker.js';

export type Kind = 'generation' | 'cast' | 'cook';
export type Names = Map<string, { id: string; kind: Kind }>;

export interface HostStep {
  readonly label: string;
  run(tracker: Tracker, names: Names): Promise<unknown>;
}

export const MINUTE = 60_000;
export const silent = { warn: () => {}, error: () => {} };

export function id(names: Names, name: string): string {
  const entry = names.get(name);
  if (!entry) throw new Error(`scenario bug: ${name} not created yet`);
  return entry.id;
}

export const person = { masterAccountId: 'account-crash', serviceName: 'svc', toolId: 'tool', toolDisplayName: 'Tool' };

export function record(name: string, links: { cast?: string; cook?: string }, extra: Record<string, unknown> = {}): HostStep {
  return {
    label: `recordGeneration ${name}`,
    async run(tracker, names) {
      const generation = await tracker.recordGeneration({
        ...person,
        ...extra,
        castId: links.cast ? id(names, links.cast) : undefined,
        cookId: links.cook ? id(names, links.cook) : undefined,
        idempotencyKey: `key-${name}`,
      });
      names.set(name, { id: generation.id, kind: 'generation' });
    },
  };
}

export function complete(name: string, status: 'success' | 'failed' | 'timeout' | 'cancelled_by_user', costUsd: string, pointsSpent: number): HostStep {
  return { label: `completeGeneration ${name}`, run: (tracker, names) => tracker.completeGeneration(id(names, name), { status, costUsd, pointsSpent }) };
}

export function startCast(name: string, cook: string | null, totalSteps: number | null): HostStep {
  return {
    label: `startCast ${name}`,
    async run(tracker, names) {
      const cast = await tracker.startCast({
        spellId: 'spell-crash',
        initiatorAccountId: 'account-crash',
        totalSteps,
        cookId: cook ? id(names, cook) : undefined,
        idempotencyKey: `key-${name}`,
      });
      names.set(name, { id: cast.id, kind: 'cast' });
    },
  };
}

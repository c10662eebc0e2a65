import { afterEach } from 'vitest';
import { memoryRepository, type MemoryRepository } from '../../adapters/memory/index.js';
import { runRepositoryConformance } from '../../src/conformance/index.js';

let current: MemoryRepository | undefined;

const inspect = () => {
  const repository = current!;
  return {
    generation: async (id: string) => (await repository.generations.get([id]))[0] ?? null,
    cast: async (id: string) => (await repository.casts.get([id]))[0] ?? null,
    cook: async (id: string) => (await repository.cooks.get([id]))[0] ?? null,
    count: async () => repository.count(),
    // Its JSON with every number as one fixed-width token: what grows with the children is
    // structure (entries, ids), never the digits of a count.
    storedSize: async (kind: 'generation' | 'cast' | 'cook', id: string) => {
      const store = kind === 'generation' ? repository.generations : kind === 'cast' ? repository.casts : repository.cooks;
      const [record] = await store.get([id]);
      if (record === undefined) throw new Error(`no ${kind} "${id}"`);
      return JSON.stringify(record, (_key, value: unknown) => (typeof value === 'number' ? 0 : value)).length;
    },
  };
};

runRepositoryConformance({
  name: 'memory',
  create: () => (current = memoryRepository()),
  inspect,
  tamperAccount: (repository, accountId, figures) => (repository as MemoryRepository).tamperAccount(accountId, figures),
});

afterEach(() => {
  current = undefined;
});

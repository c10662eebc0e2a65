import { afterEach } from 'vitest';
import { memoryRepository, type MemoryRepository } from '../../adapters/memory/index.js';
import { runRepositoryConformance } from '../conformance/index.js';

let current: MemoryRepository | undefined;

runRepositoryConformance({
  name: 'memory',
  create: () => (current = memoryRepository()),
  inspect: () => {
    const repository = current!;
    return {
      generation: async (id) => (await repository.generations.get([id]))[0] ?? null,
      cast: async (id) => (await repository.casts.get([id]))[0] ?? null,
      cook: async (id) => (await repository.cooks.get([id]))[0] ?? null,
      count: async () => repository.count(),
    };
  },
});

afterEach(() => {
  current = undefined;
});

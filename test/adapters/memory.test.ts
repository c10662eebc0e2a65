import { afterEach } from 'vitest';
import { memoryRepository, type MemoryRepository } from '../../adapters/memory/index.js';
import { runRepositoryConformance } from '../conformance/index.js';

let current: MemoryRepository | undefined;

const inspect = () => {
  const repository = current!;
  return {
    generation: async (id: string) => (await repository.generations.get([id]))[0] ?? null,
    cast: async (id: string) => (await repository.casts.get([id]))[0] ?? null,
    cook: async (id: string) => (await repository.cooks.get([id]))[0] ?? null,
    count: async () => repository.count(),
  };
};

runRepositoryConformance({
  name: 'memory',
  create: () => (current = memoryRepository()),
  inspect,
});

afterEach(() => {
  current = undefined;
});

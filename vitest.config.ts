import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests and examples import the package by name, as users do; in the repo that is the source.
    alias: [
      { find: /^genledger$/, replacement: here('./src/index.ts') },
      { find: /^genledger\/adapter$/, replacement: here('./src/adapter.ts') },
      { find: /^genledger\/memory$/, replacement: here('./adapters/memory/index.ts') },
      { find: /^genledger\/testing$/, replacement: here('./src/testing/index.ts') },
      { find: /^genledger\/conformance$/, replacement: here('./src/conformance/index.ts') },
      { find: /^genledger\/otel$/, replacement: here('./src/otel/index.ts') },
      { find: /^genledger\/postgres$/, replacement: here('./adapters/postgres/index.ts') },
      { find: /^genledger\/mongo$/, replacement: here('./adapters/mongo/index.ts') },
      { find: /^genledger\/mongo\/legacy$/, replacement: here('./adapters/mongo/legacy/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});

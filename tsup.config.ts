import { defineConfig } from 'tsup';

// One entry per subpath export. Shared code is split into chunks so every entry sees the same
// classes (an error thrown by an adapter is `instanceof` the class exported from 'genledger').
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    adapter: 'src/adapter.ts',
    memory: 'adapters/memory/index.ts',
    testing: 'src/testing/index.ts',
    conformance: 'src/conformance/index.ts',
    otel: 'src/otel/index.ts',
    postgres: 'adapters/postgres/index.ts',
    mongo: 'adapters/mongo/index.ts',
    'mongo-legacy': 'adapters/mongo/legacy/index.ts',
    // The `genledger` command (package.json "bin"); its shebang line is kept by esbuild.
    'genledger-cli': 'adapters/mongo/bin.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  target: 'node20',
  // Bundling renames classes whose names collide across chunks (`_ValidationError`); error
  // classes are named by `new.target.name`, and hosts read `error.name`.
  keepNames: true,
  // Drivers and test frameworks are optional peers: never bundled. fast-check (a dev dependency) is
  // bundled into genledger/conformance so adapter authors need only vitest.
  external: ['mongodb', 'pg', 'vitest', '@opentelemetry/api'],
  // The PostgreSQL adapter embeds its migrations; they also ship as plain SQL files, for hosts
  // that apply schema changes with their own tools, with every statement it runs (statements.sql).
  async onSuccess() {
    const { cp } = await import('node:fs/promises');
    await cp('adapters/postgres/sql/migrations', 'dist/postgres/migrations', { recursive: true });
    await cp('adapters/postgres/sql/statements.sql', 'dist/postgres/statements.sql');
  },
});

/**
 * The arrows between the layers, read from the source's import specifiers: nothing under src/
 * imports from adapters/ (the core never depends on a store; adapters depend on the core); an
 * adapter imports the core only through the published entries (`genledger`, `genledger/adapter`,
 * any subpath package.json exports), as a third party's adapter must, and otherwise only its own
 * files; and only
 * the conformance suite imports vitest or fast-check (every other entry loads without them, since
 * vitest is an optional peer and fast-check a dev dependency bundled into genledger/conformance).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const toPosix = (path: string) => path.split(sep).join('/');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.[cm]?[jt]sx?$/.test(entry.name) ? [path] : [];
  });
}

/** Every module specifier in a file: static imports and re-exports (type-only too), import(), require(). */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

const adapterNames = readdirSync(join(root, 'adapters'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** Whether a specifier, written in `file`, reaches into adapters/ (by path, or by a store's package entry). */
function reachesAdapters(file: string, specifier: string): boolean {
  if (specifier.startsWith('.')) return toPosix(relative(root, resolve(dirname(file), specifier))).startsWith('adapters/');
  return adapterNames.some((name) => specifier === `genledger/${name}` || specifier.startsWith(`genledger/${name}/`));
}

/** The package's public entries as import specifiers: `genledger`, `genledger/adapter`, ... (package.json `exports`). */
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
const publicEntries = new Set(
  Object.keys(packageJson.exports)
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? packageJson.name : `${packageJson.name}/${key.slice(2)}`)),
);

/**
 * Why a specifier, written in the adapter file `file`, is not allowed there (null when it is): a
 * relative path must stay inside the file's own adapter directory, and the package itself is
 * reached only through an entry it exports. Other packages (node:, mongodb, pg) are the adapter's own business.
 */
function adapterImportProblem(file: string, specifier: string): string | null {
  const ownAdapter = toPosix(relative(root, file)).split('/').slice(0, 2).join('/');
  if (specifier.startsWith('.')) {
    const target = toPosix(relative(root, resolve(dirname(file), specifier)));
    return target.startsWith(`${ownAdapter}/`) ? null : `reaches ${target} outside ${ownAdapter}/ by path`;
  }
  if (specifier === packageJson.name || specifier.startsWith(`${packageJson.name}/`)) {
    return publicEntries.has(specifier) ? null : 'is not an entry package.json exports';
  }
  return null;
}

const isTestOnly = (specifier: string) => /^(vitest|@vitest\/|fast-check)(\/|$)/.test(specifier);

const sources = sourceFiles(join(root, 'src')).map((file) => ({
  file,
  path: toPosix(relative(root, file)),
  specifiers: specifiers(readFileSync(file, 'utf8')),
}));

// The example third-party store is held to the same rule: it is written from the published package.
const adapterSources = [...sourceFiles(join(root, 'adapters')), ...sourceFiles(join(root, 'examples', 'custom-adapter'))].map((file) => ({
  file,
  path: toPosix(relative(root, file)),
  specifiers: specifiers(readFileSync(file, 'utf8')),
}));

describe('layering', () => {
  it('the scanner sees every form of import', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../../adapters/memory/index.js';",
      "export { c } from 'genledger/memory';",
      "export * from './d.js';",
      "import './e.js';",
      "const f = await import('../adapters/mongo/index.js');",
      "const g = require('genledger/postgres');",
      "// import { h } from './h.js';",
    ].join('\n');
    expect(specifiers(text)).toEqual([
      './a.js',
      '../../adapters/memory/index.js',
      'genledger/memory',
      './d.js',
      './e.js',
      '../adapters/mongo/index.js',
      'genledger/postgres',
    ]);
    const file = join(root, 'src', 'testing', 'x.ts');
    expect(specifiers(text).filter((specifier) => reachesAdapters(file, specifier))).toEqual([
      '../../adapters/memory/index.js',
      'genledger/memory',
      'genledger/postgres',
    ]);
    const adapterFile = join(root, 'adapters', 'mongo', 'legacy', 'x.ts');
    const adapterText = [
      "import { a } from '../documents.js';",
      "import { b } from './b.js';",
      "import type { C } from '../../../src/port.js';",
      "import { d } from '../../memory/index.js';",
      "import { e } from 'genledger';",
      "import type { F } from 'genledger/adapter';",
      "import { g } from 'genledger/src/domain/records.js';",
      "import { h } from 'genledger/dist/index.js';",
      "import { Db } from 'mongodb';",
    ].join('\n');
    expect(specifiers(adapterText).filter((specifier) => adapterImportProblem(adapterFile, specifier) !== null)).toEqual([
      '../../../src/port.js',
      '../../memory/index.js',
      'genledger/src/domain/records.js',
      'genledger/dist/index.js',
    ]);
    expect(publicEntries).toContain('genledger/adapter');
    expect(adapterSources.map((source) => source.path)).toEqual(
      expect.arrayContaining(['adapters/memory/index.ts', 'adapters/postgres/index.ts', 'adapters/mongo/legacy/index.ts', 'examples/custom-adapter/journal-store.ts']),
    );
    expect(sources.map((source) => source.path)).toEqual(
      expect.arrayContaining(['src/index.ts', 'src/testing/test-tracker.ts', 'src/conformance/index.ts']),
    );
  });

  it('nothing under src/ imports from adapters/', () => {
    const offending = sources.flatMap(({ file, path, specifiers }) =>
      specifiers.filter((specifier) => reachesAdapters(file, specifier)).map((specifier) => `${path} imports '${specifier}'`),
    );
    expect(offending).toEqual([]);
  });

  it('adapters/ (and examples/custom-adapter/) import the core only through the public entries (genledger, genledger/adapter, ...) and otherwise only their own files', () => {
    const offending = adapterSources.flatMap(({ file, path, specifiers }) =>
      specifiers.flatMap((specifier) => {
        const problem = adapterImportProblem(file, specifier);
        return problem === null ? [] : [`${path} imports '${specifier}': ${problem}`];
      }),
    );
    expect(offending).toEqual([]);
  });

  it('only src/conformance/ imports vitest or fast-check', () => {
    const offending = sources
      .filter(({ path }) => !path.startsWith('src/conformance/'))
      .flatMap(({ path, specifiers }) => specifiers.filter(isTestOnly).map((specifier) => `${path} imports '${specifier}'`));
    expect(offending).toEqual([]);
  });
});

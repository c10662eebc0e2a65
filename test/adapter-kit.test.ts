/**
 * genledger/adapter against its page: every name docs/writing-an-adapter.md imports from
 * `genledger/adapter` or `genledger` in its snippets is exported there, the page's table of the
 * kit's functions is exactly the entry's runtime exports, and every type the page lists is exported.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as kit from 'genledger/adapter';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const page = readFileSync(`${root}docs/writing-an-adapter.md`, 'utf8');

/** Every name a module exports, types included, as the compiler sees it. */
function exportedNames(file: string): Set<string> {
  const program = ts.createProgram([file], { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, noEmit: true });
  const checker = program.getTypeChecker();
  return new Set(checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)!)!).map((symbol) => symbol.name));
}

const kitNames = exportedNames(`${root}src/adapter.ts`);
const rootNames = exportedNames(`${root}src/index.ts`);
const section = (heading: string) => {
  const start = page.indexOf(heading);
  expect(start, heading).toBeGreaterThan(-1);
  const end = page.indexOf('\n## ', start + heading.length);
  return page.slice(start, end === -1 ? undefined : end);
};
const backticked = (text: string) => [...text.matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g)].map((match) => match[1]!);

describe('docs/writing-an-adapter.md and genledger/adapter', () => {
  it('every name the snippets import is exported by the entry they import it from', () => {
    const imports = [...page.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'(genledger(?:\/adapter)?)'/g)];
    expect(imports.length).toBeGreaterThanOrEqual(2);
    const missing = imports.flatMap(([, names, from]) =>
      names!
        .split(',')
        .map((name) => name.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!)
        .filter((name) => name !== '' && !(from === 'genledger' ? rootNames : kitNames).has(name))
        .map((name) => `${name} from '${from}'`),
    );
    expect(missing).toEqual([]);
  });

  it("the page's table of functions is exactly what the entry exports at run time", () => {
    const table = section('## What `genledger/adapter` exports');
    const rows = table.split('\n').filter((line) => line.startsWith('| `'));
    const listed = rows.flatMap((row) => backticked(row.split(' | ')[0]!));
    expect([...listed].sort()).toEqual(Object.keys(kit).sort());
  });

  it('every type the page lists is exported, and every kit function the walkthrough names exists', () => {
    const types = section('## What `genledger/adapter` exports').split('And the types:')[1]!;
    expect(backticked(types).filter((name) => !kitNames.has(name))).toEqual([]);
    const walkthrough = page.slice(0, page.indexOf('## What `genledger/adapter` exports'));
    const kitLike = backticked(walkthrough).filter((name) => /^[a-z]+[A-Z]/.test(name) && !rootNames.has(name));
    // Method names of the port (insertAttached, settleGeneration, ...) are named in backticks too: those are on LedgerRepository.
    const portMethods = new Set(['insertAttached', 'settleGeneration', 'openChildren', 'recordProgress', 'recordDelivery', 'findByIdempotencyKey', 'findStale', 'summarizeChildren', 'replaceAggregates', 'findForMaintenance', 'sharedAcrossProcesses', 'maxEmbeddedIds', 'previousStatus', 'castPiece', 'idempotencyKey', 'requestTimestamp', 'ensureIndexes', 'runRepositoryConformance']);
    expect(kitLike.filter((name) => !kitNames.has(name) && !portMethods.has(name))).toEqual([]);
  });
});

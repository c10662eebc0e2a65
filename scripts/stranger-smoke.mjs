// Uses the packed tarball as a stranger would, from an empty project (see check-package.sh):
// both module systems, the in-memory store, a retried creation, exact money from numbers, and
// wrong inputs, each of which must be a typed error that keeps its class name; the adapter kit
// loads in both systems, and an error a store throws is an instance of the root's class.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const { createTracker, GenledgerError, ValidationError, IdempotencyConflictError, ConflictError } = await import('genledger');
const { memoryRepository } = await import('genledger/memory');

const require = createRequire(import.meta.url);
const cjs = require('genledger');
assert.equal(typeof cjs.createTracker, 'function', 'require("genledger") gives createTracker');
assert.equal(typeof require('genledger/memory').memoryRepository, 'function', 'require("genledger/memory") gives memoryRepository');
// The adapter kit, for third-party stores: the composites, in both module systems.
const kit = await import('genledger/adapter');
assert.equal(typeof kit.settle, 'function', 'import("genledger/adapter") gives settle');
assert.equal(typeof require('genledger/adapter').createAttached, 'function', 'require("genledger/adapter") gives createAttached');
// One copy of each error class across entries: a store's ConflictError is the root's, in each system.
const refusedPosition = (memory) =>
  Promise.resolve()
    .then(() => memory.memoryRepository().changes.subscribe({ after: 'not-a-position', onChange() {}, onError() {} }))
    .then(() => null, (error) => error);
assert.ok((await refusedPosition({ memoryRepository })) instanceof ConflictError, 'genledger/memory throws the ConflictError genledger exports');
assert.ok((await refusedPosition(require('genledger/memory'))) instanceof cjs.ConflictError, 'so does require("genledger/memory")');
// The root speaks only the canonical vocabulary; legacy words live in genledger/mongo/legacy.
const legacyAtRoot = Object.keys(cjs).filter((name) => /legacy|normali[sz]e/i.test(name));
assert.deepEqual(legacyAtRoot, [], 'genledger exports no legacy words or normalisers');

const tracker = createTracker({ repository: memoryRepository(), logger: { warn() {}, error() {} } });
const cook = await tracker.startCook({ collectionId: 'c-1', initiatorAccountId: 'u-1', targetSupply: 2 });
const request = { masterAccountId: 'u-1', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', cookId: cook.id, idempotencyKey: 'job-1' };
const piece = await tracker.recordGeneration(request);
await tracker.pauseCook(cook.id);
assert.equal((await tracker.recordGeneration(request)).id, piece.id, 'a retry after the cook was paused returns the first record');
await tracker.completeGeneration(piece.id, { status: 'success', pointsSpent: 3, costUsd: 0.1 + 0.2 });
assert.equal((await tracker.getCook(cook.id)).costUsd, '0.3', 'a number cost 0.1 + 0.2 is stored as 0.3');

async function expectTyped(label, call, Class, name) {
  const error = await Promise.resolve().then(call).then(
    () => assert.fail(`${label}: no error`),
    (caught) => caught,
  );
  assert.ok(error instanceof GenledgerError, `${label}: a GenledgerError, got ${error}`);
  assert.ok(error instanceof Class, `${label}: a ${Class.name}`);
  assert.equal(error.name, name, `${label}: error.name`);
  return error;
}
await expectTyped('a negative cost', () => tracker.completeGeneration(piece.id, { status: "success", costUsd: -1 }), ValidationError, 'ValidationError');
await expectTyped('the key with another cook', () => tracker.recordGeneration({ ...request, cookId: undefined }), IdempotencyConflictError, 'IdempotencyConflictError');
await expectTyped('no repository', () => createTracker({}), ValidationError, 'ValidationError');
const badIds = createTracker({ repository: memoryRepository(), ids: () => '' });
const idError = await expectTyped('an ids generator returning ""', () => badIds.startCook({ collectionId: 'c', initiatorAccountId: 'u', targetSupply: 1 }), ValidationError, 'ValidationError');
assert.equal(idError.field, 'options.ids');
const cursorError = await expectTyped('a forged cursor', () => tracker.listGenerations({ cursor: 'bm90\u0000YQ' }), ValidationError, 'ValidationError');
assert.equal(cursorError.field, 'input.cursor');
const first = await tracker.listGenerations({ limit: 1 });
await tracker.listGenerations({ cursor: first.nextCursor });
await expectTyped('clock: () => new Date()', () => createTracker({ repository: memoryRepository(), clock: () => new Date() }), ValidationError, 'ValidationError');
console.log('stranger smoke: ESM and CJS entries, a retried creation, exact money and typed errors with their names all hold');

/**
 * The ledger entries of one account write go to the ledger collection in ONE unordered
 * `insertMany` (adapters/mongo/accounts/apply.ts `insertEntries`): entries another call flushed
 * first are skipped without stopping the ones after them, and any other failure is not swallowed.
 */
import { MongoBulkWriteError, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { insertEntries } from '../../adapters/mongo/accounts/apply.js';
import type { EntryDocument } from '../../adapters/mongo/accounts/documents.js';
import { FakeDb } from './fake-db.js';

const entry = (sequence: number): EntryDocument => ({ accountId: 'account-1', sequence, key: `capture:g${sequence}` }) as EntryDocument;

describe('insertEntries on MongoDB', () => {
  it('inserts what is missing past entries already there, in one command', async () => {
    const db = new FakeDb();
    const ledger = db.collection('ledgerEntries');
    await ledger.createIndex({ accountId: 1, sequence: 1 }, { unique: true });
    // A concurrent flush landed entry 1 (and 3) before this call's insert.
    await ledger.insertOne({ ...entry(1) });
    await ledger.insertOne({ ...entry(3) });
    db.failWrite({ nth: null, moment: 'before' });
    await insertEntries(ledger as never, [entry(1), entry(2), entry(3), entry(4)]);
    expect(db.writeCount).toBe(1);
    expect((await ledger.find({}).toArray()).map((document: Document) => document.sequence).sort()).toEqual([1, 2, 3, 4]);
  });

  it('sends nothing for no entries', async () => {
    const db = new FakeDb();
    db.failWrite({ nth: null, moment: 'before' });
    await insertEntries(db.collection('ledgerEntries') as never, []);
    expect(db.writeCount).toBe(0);
  });

  it('throws a failure that is not only duplicates: another write error, or a write concern error beside duplicates', async () => {
    const notDuplicate = new MongoBulkWriteError({ message: 'bad', code: 121, writeErrors: [{ code: 11000, index: 0 }, { code: 121, index: 1 }] } as never, { getWriteConcernError: () => undefined } as never);
    const writeConcern = new MongoBulkWriteError({ message: 'dup', code: 11000, writeErrors: [{ code: 11000, index: 0 }] } as never, { getWriteConcernError: () => ({ code: 64 }) } as never);
    const duplicatesOnly = new MongoBulkWriteError({ message: 'dup', code: 11000, writeErrors: [{ code: 11000, index: 0 }] } as never, { getWriteConcernError: () => undefined } as never);
    const failing = (error: Error) => ({ insertMany: () => Promise.reject(error) }) as never;
    await expect(insertEntries(failing(notDuplicate), [entry(1), entry(2)])).rejects.toBe(notDuplicate);
    await expect(insertEntries(failing(writeConcern), [entry(1)])).rejects.toBe(writeConcern);
    await expect(insertEntries(failing(duplicatesOnly), [entry(1)])).resolves.toBeUndefined();
  });
});

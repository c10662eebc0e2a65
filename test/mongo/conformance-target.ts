/**
 * The conformance target for genledger/mongo on any `Db`: a real server, or the mingo-backed fake.
 */
import type { Db, Document } from 'mongodb';
import { fromCastDocument, fromCookDocument, fromGenerationDocument } from '../../adapters/mongo/documents.js';
import { toStoredId } from '../../adapters/mongo/ids.js';
import { mongoRepository } from '../../adapters/mongo/index.js';
import type { ConformancePart, ConformanceTarget } from '../conformance/types.js';
import { withStoredImageCheck, type StoredImageLog } from './stored-image-check.js';

/** Why the change-feed part is skipped for this adapter. */
export const NO_CHANGE_FEED =
  "genledger/mongo offers no change feed (the port's optional, experimental `changes` capability; MongoDB change streams need a replica set and are not part of this adapter)";

export interface MongoTargetOptions {
  readonly name: string;
  readonly db: () => Db;
  readonly scale?: number;
  readonly timeoutMs?: number;
  readonly idFormat?: 'readable' | 'objectId';
  readonly skip?: Partial<Record<ConformancePart, string>>;
  readonly teardown?: () => Promise<void>;
}

export function mongoConformanceTarget(options: MongoTargetOptions): ConformanceTarget & { readonly log: StoredImageLog } {
  const log: StoredImageLog = { compared: 0, overtaken: 0 };
  const names = ['generationOutputs', 'casts', 'cooks'] as const;
  const collection = (name: (typeof names)[number]) => options.db().collection<Document>(name);
  let indexed = false;
  return {
    name: options.name,
    log,
    scale: options.scale,
    timeoutMs: options.timeoutMs,
    idFormat: options.idFormat ?? 'objectId',
    skip: options.skip,
    async create() {
      const repository = mongoRepository(options.db());
      if (!indexed) {
        await repository.ensureIndexes();
        indexed = true;
      }
      return withStoredImageCheck(repository, { generations: collection('generationOutputs'), casts: collection('casts'), cooks: collection('cooks') }, log);
    },
    async reset() {
      for (const name of names) await collection(name).deleteMany({});
    },
    teardown: options.teardown,
    inspect: () => {
      const raw = async (name: (typeof names)[number], id: string) => collection(name).findOne({ _id: toStoredId(id) as never });
      return {
        generation: async (id) => {
          const document = await raw('generationOutputs', id);
          return document === null ? null : fromGenerationDocument(document);
        },
        cast: async (id) => {
          const document = await raw('casts', id);
          return document === null ? null : fromCastDocument(document);
        },
        cook: async (id) => {
          const document = await raw('cooks', id);
          return document === null ? null : fromCookDocument(document);
        },
        count: async () => ({
          generations: await collection('generationOutputs').countDocuments({}),
          casts: await collection('casts').countDocuments({}),
          cooks: await collection('cooks').countDocuments({}),
        }),
      };
    },
  };
}

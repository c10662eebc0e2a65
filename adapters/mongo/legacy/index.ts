/**
 * genledger/mongo/legacy: the tools for a MongoDB database the old system wrote. Everything here is
 * about data genledger never writes: the legacy status words and their normalisers, the audit of
 * what each `generationOutputs` document lacks, the backfill that repairs it, and the
 * `cook_collections` -> `collections` migration. The `genledger` command is a thin shell over
 * these functions. `mongoRepository` (genledger/mongo) reads legacy documents as they are without
 * any of this; see docs/mongodb.md, "Adopting it on an existing database, step by step".
 *
 * ```sh
 * npm install genledger mongodb
 * ```
 *
 * ```ts
 * import { auditLegacy, backfillLegacy, migrateCollections } from 'genledger/mongo/legacy';
 *
 * const db = client.db('app');
 * console.log((await auditLegacy(db)).problems);
 * await migrateCollections(db);
 * await backfillLegacy(db, { apply: true }); // a dry run without `apply`; safe to repeat
 * ```
 *
 * @module
 */
export {
  LEGACY_GENERATION_WORDS,
  LEGACY_DELIVERY_WORDS,
  LEGACY_PARENT_WORDS,
  normalizeGenerationStatus,
  normalizeDeliveryStatus,
  normalizeCastStatus,
  normalizeCookStatus,
  isLegacyGenerationStatusWord,
} from '../status-words.js';
export {
  auditLegacy,
  backfillLegacy,
  migrateCollections,
  MigrationRefusedError,
  type LegacyScanOptions,
  type LegacyAuditReport,
  type BackfillOptions,
  type BackfillReport,
  type MigrateOptions,
  type MigrationReport,
} from './tools.js';
export {
  LEGACY_PROBLEMS,
  LEGACY_PROBLEM_REPAIRS,
  DEFAULT_STUCK_AFTER_MS,
  planGenerationRepair,
  type LegacyProblem,
  type LegacyRepairOptions,
  type GenerationRepair,
} from './repairs.js';

/**
 * The conformance suite's back door for PostgreSQL: `SELECT *` straight from the tables with the
 * driver's stock parsers, mapped to records here, independently of the adapter's own select lists
 * and row mapping. What it returns is what is stored.
 */
import type pg from 'pg';
import type { Cast, Cook, Generation } from '../../src/domain/records.js';
import { toUsdAmount } from '../../src/domain/money.js';
import { readStoredCostProvenance } from '../../src/domain/pricing.js';
import type { TableNames } from '../../adapters/postgres/index.js';
import type { StoreInspector } from '../../src/conformance/types.js';

type Raw = Record<string, unknown>;

const number = (value: unknown): number => Number(value);
const nullableNumber = (value: unknown): number | null => (value === null ? null : Number(value));
const nullableDate = (value: unknown): Date | null => (value === null ? null : (value as Date));
const outcomes = (row: Raw) => ({
  success: number(row.outcome_success),
  failed: number(row.outcome_failed),
  cancelled_by_user: number(row.outcome_cancelled_by_user),
  timeout: number(row.outcome_timeout),
});

function generation(row: Raw): Generation {
  return {
    id: row.id as string,
    masterAccountId: row.master_account_id as string,
    toolId: row.tool_id as string,
    toolDisplayName: row.tool_display_name as string,
    serviceName: row.service_name as string,
    sessionId: row.session_id as string | null,
    initiatingEventId: row.initiating_event_id as string | null,
    platformSpecificRunId: row.platform_specific_run_id as string | null,
    status: row.status as Generation['status'],
    requestTimestamp: row.request_timestamp as Date,
    startedAt: nullableDate(row.started_at),
    responseTimestamp: nullableDate(row.response_timestamp),
    durationMs: nullableNumber(row.duration_ms),
    progress: number(row.progress),
    pointsSpent: number(row.points_spent),
    protocolNetPoints: number(row.protocol_net_points),
    costUsd: toUsdAmount(row.cost_usd as string),
    // jsonb, read as the raw driver value: the provenance's own reader revives its instants.
    costProvenance: readStoredCostProvenance(row.cost_provenance),
    notificationPlatform: row.notification_platform as string,
    deliveryStatus: row.delivery_status as Generation['deliveryStatus'],
    deliveryAttempts: number(row.delivery_attempts),
    deliveryTimestamp: nullableDate(row.delivery_timestamp),
    deliveryError: row.delivery_error as string | null,
    deliveryStrategy: row.delivery_strategy as string | null,
    castId: row.cast_id as string | null,
    cookId: row.cook_id as string | null,
    spellId: row.spell_id as string | null,
    collectionId: row.collection_id as string | null,
    requestPayload: row.request_payload as Generation['requestPayload'],
    responsePayload: row.response_payload as Generation['responsePayload'],
    artifactUrls: row.artifact_urls as string[],
    errorDetails: row.error_details as Generation['errorDetails'],
    metadata: row.metadata as Generation['metadata'],
    idempotencyKey: row.idempotency_key as string | null,
    version: number(row.version),
    updatedAt: row.updated_at as Date,
  };
}

function parentTotals(row: Raw) {
  return {
    inFlightCount: number(row.in_flight_count),
    outcomes: outcomes(row),
    pointsSpent: number(row.points_spent),
    protocolNetPoints: number(row.protocol_net_points),
    costUsd: toUsdAmount(row.cost_usd as string),
    startedAt: row.started_at as Date,
    completedAt: nullableDate(row.completed_at),
    durationMs: nullableNumber(row.duration_ms),
    updatedAt: row.updated_at as Date,
    version: number(row.version),
    metadata: row.metadata as Cast['metadata'],
    idempotencyKey: row.idempotency_key as string | null,
  };
}

function cast(row: Raw): Cast {
  return {
    id: row.id as string,
    spellId: row.spell_id as string,
    initiatorAccountId: row.initiator_account_id as string,
    totalSteps: nullableNumber(row.total_steps),
    cookId: row.cook_id as string | null,
    collectionId: row.collection_id as string | null,
    status: row.status as Cast['status'],
    stepGenerationIds: row.step_generation_ids as string[],
    ...parentTotals(row),
  };
}

function cook(row: Raw): Cook {
  return {
    id: row.id as string,
    collectionId: row.collection_id as string,
    initiatorAccountId: row.initiator_account_id as string,
    targetSupply: number(row.target_supply),
    status: row.status as Cook['status'],
    generatedCount: number(row.generated_count),
    failedCount: number(row.failed_count),
    cancelledCount: number(row.cancelled_count),
    openGenerationCount: number(row.open_generation_count),
    generationIds: row.generation_ids as string[],
    castIds: row.cast_ids as string[],
    ...parentTotals(row),
  };
}

export function postgresInspector(pool: pg.Pool, tables: TableNames): StoreInspector {
  const byId = async <T>(table: string, id: string, map: (row: Raw) => T): Promise<T | null> => {
    const { rows } = await pool.query<Raw>(`SELECT * FROM ${table} WHERE id = $1`, [id]);
    return rows[0] ? map(rows[0]) : null;
  };
  return {
    generation: (id) => byId(tables.generations, id, generation),
    cast: (id) => byId(tables.casts, id, cast),
    cook: (id) => byId(tables.cooks, id, cook),
    /** The stored row's size in bytes, as PostgreSQL stores it (`pg_column_size` of the whole row). */
    async storedSize(kind, id) {
      const table = kind === 'generation' ? tables.generations : kind === 'cast' ? tables.casts : tables.cooks;
      const { rows } = await pool.query<{ size: number }>(`SELECT pg_column_size(t.*)::int AS size FROM ${table} AS t WHERE t.id = $1`, [id]);
      if (!rows[0]) throw new Error(`no ${kind} "${id}" to measure`);
      return rows[0].size;
    },
    async count() {
      const { rows } = await pool.query<{ generations: string; casts: string; cooks: string }>(
        `SELECT (SELECT count(*) FROM ${tables.generations}) AS generations, (SELECT count(*) FROM ${tables.casts}) AS casts,
                (SELECT count(*) FROM ${tables.cooks}) AS cooks`,
      );
      const [counts] = rows;
      return { generations: Number(counts!.generations), casts: Number(counts!.casts), cooks: Number(counts!.cooks) };
    },
  };
}

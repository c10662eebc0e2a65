/**
 * Records <-> PostgreSQL rows: which column holds which field, how each value travels, and the
 * select lists that read them back.
 *
 * Every value crosses the wire in a form that cannot lose precision, whatever the host did to the
 * `pg` driver's global type parsers or to the session's settings:
 *
 * - money (`numeric`) is sent as its canonical decimal string and read back as text, then
 *   canonicalised by the domain's money helpers (`"0.30"` becomes `"0.3"`); never a JS float;
 * - points and durations (`bigint`) are read as text and checked to be safe integers;
 * - times (`timestamptz`) are sent as ISO 8601 text and read back as epoch milliseconds computed by
 *   the server, so neither `DateStyle`, `TimeZone` nor a date parser is involved;
 * - JSON (`jsonb`) is sent as `JSON.stringify` text and parsed with `JSON.parse`.
 *
 * Queries pass {@link EXACT_TYPES} as their `types`, so these readings apply to genledger's queries
 * only and the host's pool keeps its own parsers.
 */
import { toUsdAmount, type Cast, type Cook, type Generation, ValidationError } from 'genledger';
import { type ChildrenSummary, type WriteResult, readStoredCostProvenance, unstorableTextReason } from 'genledger/adapter';

/** The SQL types genledger's columns use. */
export type SqlType = 'text' | 'integer' | 'bigint' | 'numeric' | 'timestamptz' | 'jsonb' | 'boolean' | 'text[]';

export interface Column {
  readonly name: string;
  readonly type: SqlType;
}

export function columns(spec: Record<string, SqlType>): readonly Column[] {
  return Object.entries(spec).map(([name, type]) => ({ name, type }));
}

export const GENERATION_COLUMNS = columns({
  id: 'text',
  master_account_id: 'text',
  tool_id: 'text',
  tool_display_name: 'text',
  service_name: 'text',
  session_id: 'text',
  initiating_event_id: 'text',
  platform_specific_run_id: 'text',
  status: 'text',
  request_timestamp: 'timestamptz',
  started_at: 'timestamptz',
  response_timestamp: 'timestamptz',
  duration_ms: 'bigint',
  progress: 'numeric',
  points_spent: 'bigint',
  protocol_net_points: 'bigint',
  cost_usd: 'numeric',
  cost_provenance: 'jsonb',
  notification_platform: 'text',
  delivery_status: 'text',
  delivery_attempts: 'integer',
  delivery_timestamp: 'timestamptz',
  delivery_error: 'text',
  delivery_strategy: 'text',
  cast_id: 'text',
  cook_id: 'text',
  spell_id: 'text',
  collection_id: 'text',
  request_payload: 'jsonb',
  response_payload: 'jsonb',
  artifact_urls: 'jsonb',
  error_details: 'jsonb',
  metadata: 'jsonb',
  idempotency_key: 'text',
  version: 'integer',
  updated_at: 'timestamptz',
});

/** Parent columns a roll-up write may change; the rest are fixed when the parent is created. */
const PARENT_AGGREGATE_SPEC = {
  status: 'text',
  in_flight_count: 'integer',
  outcome_success: 'integer',
  outcome_failed: 'integer',
  outcome_cancelled_by_user: 'integer',
  outcome_timeout: 'integer',
  points_spent: 'bigint',
  protocol_net_points: 'bigint',
  cost_usd: 'numeric',
  completed_at: 'timestamptz',
  duration_ms: 'bigint',
  updated_at: 'timestamptz',
  version: 'integer',
} as const satisfies Record<string, SqlType>;

/** What a cast's apply changes (its embedded id list is set at creation of a step only). */
export const CAST_APPLY_COLUMNS = columns(PARENT_AGGREGATE_SPEC);

export const CAST_AGGREGATE_COLUMNS = columns({ ...PARENT_AGGREGATE_SPEC, step_generation_ids: 'jsonb' });

export const CAST_COLUMNS = columns({
  id: 'text',
  spell_id: 'text',
  initiator_account_id: 'text',
  total_steps: 'integer',
  cook_id: 'text',
  collection_id: 'text',
  started_at: 'timestamptz',
  metadata: 'jsonb',
  idempotency_key: 'text',
  ...Object.fromEntries(CAST_AGGREGATE_COLUMNS.map((column) => [column.name, column.type])),
});

/** What a cook's apply changes (its embedded id lists are set at creation of a child only). */
export const COOK_APPLY_COLUMNS = columns({
  ...PARENT_AGGREGATE_SPEC,
  generated_count: 'integer',
  failed_count: 'integer',
  cancelled_count: 'integer',
  open_generation_count: 'integer',
});

export const COOK_AGGREGATE_COLUMNS = columns({
  ...Object.fromEntries(COOK_APPLY_COLUMNS.map((column) => [column.name, column.type])),
  generation_ids: 'jsonb',
  cast_ids: 'jsonb',
});

export const COOK_COLUMNS = columns({
  id: 'text',
  collection_id: 'text',
  initiator_account_id: 'text',
  target_supply: 'integer',
  started_at: 'timestamptz',
  metadata: 'jsonb',
  idempotency_key: 'text',
  ...Object.fromEntries(COOK_AGGREGATE_COLUMNS.map((column) => [column.name, column.type])),
});

/** A row as the driver hands it over with {@link EXACT_TYPES}. */
export type Row = Readonly<Record<string, unknown>>;

/** A value bound to a `$n` parameter. */
export type SqlValue = string | number | boolean | null | readonly string[];

// ---------------------------------------------------------------------------------------------
// Reading: the driver's text values, by type OID.

const BOOLEAN_OID = 16;
const INT2_OID = 21;
const INT4_OID = 23;
const FLOAT4_OID = 700;
const FLOAT8_OID = 701;
const JSON_OID = 114;
const JSONB_OID = 3802;

const PARSERS: Readonly<Record<number, (text: string) => unknown>> = {
  [BOOLEAN_OID]: (text) => text === 't',
  [INT2_OID]: Number,
  [INT4_OID]: Number,
  [FLOAT4_OID]: Number,
  [FLOAT8_OID]: Number,
  [JSON_OID]: (text) => JSON.parse(text) as unknown,
  [JSONB_OID]: (text) => JSON.parse(text) as unknown,
};

const asText = (text: string): string => text;

/**
 * The `types` of every genledger query: the few parsers above, and text for everything else
 * (`numeric` and `bigint` among them), ignoring any global parser the host installed.
 */
export const EXACT_TYPES = {
  getTypeParser: (oid: number): ((text: string) => unknown) => PARSERS[oid] ?? asText,
};

/**
 * The select-list expression that reads a column exactly: times as epoch milliseconds computed by
 * the server (`numeric` arithmetic, so exact at any date), everything else as is.
 */
export function readColumn(source: string, column: Column, alias = column.name): string {
  const reference = `${source}.${column.name}`;
  if (column.type === 'timestamptz') return `${epochMs(reference)} AS ${alias}`;
  return `${reference} AS ${alias}`;
}

/** `timestamptz` -> epoch milliseconds as `bigint` (the stored values are whole milliseconds). */
export function epochMs(expression: string): string {
  return `(extract(epoch FROM ${expression}) * 1000)::bigint`;
}

/** A select list for `columns` of `source`, each renamed with `prefix`. */
export function selectList(source: string, list: readonly Column[], prefix = ''): string {
  return list.map((column) => readColumn(source, column, `${prefix}${column.name}`)).join(', ');
}

function field(row: Row, prefix: string, name: string): unknown {
  if (!(`${prefix}${name}` in row)) throw new Error(`[genledger] [postgres] column ${prefix}${name} missing from a result row`);
  return row[`${prefix}${name}`];
}

function text(row: Row, prefix: string, name: string): string {
  const value = field(row, prefix, name);
  if (typeof value !== 'string') throw new Error(`[genledger] [postgres] column ${prefix}${name} is ${value === null ? 'null' : typeof value}, expected text`);
  return value;
}

function nullableText(row: Row, prefix: string, name: string): string | null {
  return field(row, prefix, name) === null ? null : text(row, prefix, name);
}

function integer(row: Row, prefix: string, name: string): number {
  const value = field(row, prefix, name);
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
    throw new Error(`[genledger] [postgres] column ${prefix}${name} holds ${String(value)}, not a safe integer`);
  }
  return number;
}

function nullableInteger(row: Row, prefix: string, name: string): number | null {
  return field(row, prefix, name) === null ? null : integer(row, prefix, name);
}

/** A JavaScript number stored as `numeric` (its shortest decimal spelling), so it reads back exactly. */
function decimalNumber(row: Row, prefix: string, name: string): number {
  const number = Number(text(row, prefix, name));
  if (!Number.isFinite(number)) throw new Error(`[genledger] [postgres] column ${prefix}${name} is not a finite number`);
  return number;
}

function money(row: Row, prefix: string, name: string): string {
  return toUsdAmount(text(row, prefix, name));
}

function date(row: Row, prefix: string, name: string): Date {
  return new Date(integer(row, prefix, name));
}

function nullableDate(row: Row, prefix: string, name: string): Date | null {
  return field(row, prefix, name) === null ? null : date(row, prefix, name);
}

function json<T>(row: Row, prefix: string, name: string): T {
  return field(row, prefix, name) as T;
}

function stringList(row: Row, prefix: string, name: string): string[] {
  const value = field(row, prefix, name);
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new Error(`[genledger] [postgres] column ${prefix}${name} is not a JSON array of strings`);
  }
  return value;
}

function outcomes(row: Row, prefix: string) {
  return {
    success: integer(row, prefix, 'outcome_success'),
    failed: integer(row, prefix, 'outcome_failed'),
    cancelled_by_user: integer(row, prefix, 'outcome_cancelled_by_user'),
    timeout: integer(row, prefix, 'outcome_timeout'),
  };
}

export function generationFromRow(row: Row, prefix = ''): Generation {
  return {
    id: text(row, prefix, 'id'),
    masterAccountId: text(row, prefix, 'master_account_id'),
    toolId: text(row, prefix, 'tool_id'),
    toolDisplayName: text(row, prefix, 'tool_display_name'),
    serviceName: text(row, prefix, 'service_name'),
    sessionId: nullableText(row, prefix, 'session_id'),
    initiatingEventId: nullableText(row, prefix, 'initiating_event_id'),
    platformSpecificRunId: nullableText(row, prefix, 'platform_specific_run_id'),
    status: text(row, prefix, 'status') as Generation['status'],
    requestTimestamp: date(row, prefix, 'request_timestamp'),
    startedAt: nullableDate(row, prefix, 'started_at'),
    responseTimestamp: nullableDate(row, prefix, 'response_timestamp'),
    durationMs: nullableInteger(row, prefix, 'duration_ms'),
    progress: decimalNumber(row, prefix, 'progress'),
    pointsSpent: integer(row, prefix, 'points_spent'),
    protocolNetPoints: integer(row, prefix, 'protocol_net_points'),
    costUsd: money(row, prefix, 'cost_usd'),
    costProvenance: readStoredCostProvenance(field(row, prefix, 'cost_provenance')),
    notificationPlatform: text(row, prefix, 'notification_platform'),
    deliveryStatus: text(row, prefix, 'delivery_status') as Generation['deliveryStatus'],
    deliveryAttempts: integer(row, prefix, 'delivery_attempts'),
    deliveryTimestamp: nullableDate(row, prefix, 'delivery_timestamp'),
    deliveryError: nullableText(row, prefix, 'delivery_error'),
    deliveryStrategy: nullableText(row, prefix, 'delivery_strategy'),
    castId: nullableText(row, prefix, 'cast_id'),
    cookId: nullableText(row, prefix, 'cook_id'),
    spellId: nullableText(row, prefix, 'spell_id'),
    collectionId: nullableText(row, prefix, 'collection_id'),
    requestPayload: json(row, prefix, 'request_payload'),
    responsePayload: json(row, prefix, 'response_payload'),
    artifactUrls: stringList(row, prefix, 'artifact_urls'),
    errorDetails: json(row, prefix, 'error_details'),
    metadata: json(row, prefix, 'metadata'),
    idempotencyKey: nullableText(row, prefix, 'idempotency_key'),
    version: integer(row, prefix, 'version'),
    updatedAt: date(row, prefix, 'updated_at'),
  };
}

export function castFromRow(row: Row, prefix = ''): Cast {
  return {
    id: text(row, prefix, 'id'),
    spellId: text(row, prefix, 'spell_id'),
    initiatorAccountId: text(row, prefix, 'initiator_account_id'),
    totalSteps: nullableInteger(row, prefix, 'total_steps'),
    cookId: nullableText(row, prefix, 'cook_id'),
    collectionId: nullableText(row, prefix, 'collection_id'),
    status: text(row, prefix, 'status') as Cast['status'],
    stepGenerationIds: stringList(row, prefix, 'step_generation_ids'),
    inFlightCount: integer(row, prefix, 'in_flight_count'),
    outcomes: outcomes(row, prefix),
    pointsSpent: integer(row, prefix, 'points_spent'),
    protocolNetPoints: integer(row, prefix, 'protocol_net_points'),
    costUsd: money(row, prefix, 'cost_usd'),
    startedAt: date(row, prefix, 'started_at'),
    completedAt: nullableDate(row, prefix, 'completed_at'),
    durationMs: nullableInteger(row, prefix, 'duration_ms'),
    updatedAt: date(row, prefix, 'updated_at'),
    version: integer(row, prefix, 'version'),
    metadata: json(row, prefix, 'metadata'),
    idempotencyKey: nullableText(row, prefix, 'idempotency_key'),
  };
}

export function cookFromRow(row: Row, prefix = ''): Cook {
  return {
    id: text(row, prefix, 'id'),
    collectionId: text(row, prefix, 'collection_id'),
    initiatorAccountId: text(row, prefix, 'initiator_account_id'),
    targetSupply: integer(row, prefix, 'target_supply'),
    status: text(row, prefix, 'status') as Cook['status'],
    generatedCount: integer(row, prefix, 'generated_count'),
    failedCount: integer(row, prefix, 'failed_count'),
    cancelledCount: integer(row, prefix, 'cancelled_count'),
    inFlightCount: integer(row, prefix, 'in_flight_count'),
    openGenerationCount: integer(row, prefix, 'open_generation_count'),
    generationIds: stringList(row, prefix, 'generation_ids'),
    castIds: stringList(row, prefix, 'cast_ids'),
    outcomes: outcomes(row, prefix),
    pointsSpent: integer(row, prefix, 'points_spent'),
    protocolNetPoints: integer(row, prefix, 'protocol_net_points'),
    costUsd: money(row, prefix, 'cost_usd'),
    startedAt: date(row, prefix, 'started_at'),
    completedAt: nullableDate(row, prefix, 'completed_at'),
    durationMs: nullableInteger(row, prefix, 'duration_ms'),
    updatedAt: date(row, prefix, 'updated_at'),
    version: integer(row, prefix, 'version'),
    metadata: json(row, prefix, 'metadata'),
    idempotencyKey: nullableText(row, prefix, 'idempotency_key'),
  };
}

// ---------------------------------------------------------------------------------------------
// Writing: record fields -> parameter values.

/** 4714-11-24 BC, 00:00 UTC: PostgreSQL's earliest `timestamptz` (its latest is beyond JavaScript's). */
const EARLIEST_TIMESTAMP_MS = Date.UTC(-4713, 10, 24);

/**
 * A `timestamptz` parameter: ISO 8601 in UTC with milliseconds. PostgreSQL reads years before 1
 * and after 9999 only in its own spelling (`0044-03-15 ... BC`), so those are written that way.
 */
export function timestampParam(value: Date, fieldName = 'date'): string {
  if (Number.isNaN(value.getTime())) throw new ValidationError([{ field: fieldName, reason: 'must be a valid Date' }]);
  if (value.getTime() < EARLIEST_TIMESTAMP_MS) {
    throw new ValidationError([{ field: fieldName, reason: `is before ${new Date(EARLIEST_TIMESTAMP_MS).toISOString()}, the earliest time PostgreSQL stores` }]);
  }
  const year = value.getUTCFullYear();
  if (year >= 1 && year <= 9999) return value.toISOString();
  const pad = (number: number, width = 2) => String(number).padStart(width, '0');
  const era = year <= 0 ? ' BC' : '';
  const shownYear = year <= 0 ? 1 - year : year;
  return (
    `${pad(shownYear, 4)}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())} ` +
    `${pad(value.getUTCHours())}:${pad(value.getUTCMinutes())}:${pad(value.getUTCSeconds())}.${pad(value.getUTCMilliseconds(), 3)}+00${era}`
  );
}

function nullableTimestampParam(value: Date | null, fieldName: string): string | null {
  return value === null ? null : timestampParam(value, fieldName);
}

/**
 * Text PostgreSQL can store exactly as given (no U+0000, no unpaired surrogate). The tracker
 * refuses such strings at its edge; this guards callers of the port itself, so a refusal is a
 * `ValidationError` naming the field rather than a driver failure or a silently rewritten string.
 */
export function storableText(value: string | null, fieldName: string): string | null {
  const reason = value === null ? null : unstorableTextReason(value);
  if (reason !== null) throw new ValidationError([{ field: fieldName, reason }]);
  return value;
}

/** Checks every string and key inside a JSON value (already validated as plain JSON, so bounded in depth). */
function assertStorableJson(value: unknown, path: string): void {
  if (typeof value === 'string') {
    storableText(value, path);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => assertStorableJson(item, `${path}.${index}`));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      storableText(key, `${path}.${key}`);
      assertStorableJson(item, `${path}.${key}`);
    }
  }
}

/** A `jsonb` parameter; `null` is SQL NULL (a record's `null` JSON field is stored as NULL). */
export function jsonParam(value: unknown, fieldName: string): string | null {
  if (value === null || value === undefined) return null;
  assertStorableJson(value, fieldName);
  return JSON.stringify(value);
}

/** {@link jsonParam}'s check, for a value sent inside a jsonb document rather than as its own parameter. */
export function storableJson(value: unknown, fieldName: string): unknown {
  if (value === null || value === undefined) return null;
  assertStorableJson(value, fieldName);
  return value;
}

export function generationToRow(generation: Generation): Record<string, SqlValue> {
  const textField = (value: string | null, name: string) => storableText(value, name);
  return {
    id: textField(generation.id, 'id'),
    master_account_id: textField(generation.masterAccountId, 'masterAccountId'),
    tool_id: textField(generation.toolId, 'toolId'),
    tool_display_name: textField(generation.toolDisplayName, 'toolDisplayName'),
    service_name: textField(generation.serviceName, 'serviceName'),
    session_id: textField(generation.sessionId, 'sessionId'),
    initiating_event_id: textField(generation.initiatingEventId, 'initiatingEventId'),
    platform_specific_run_id: textField(generation.platformSpecificRunId, 'platformSpecificRunId'),
    status: generation.status,
    request_timestamp: timestampParam(generation.requestTimestamp, 'requestTimestamp'),
    started_at: nullableTimestampParam(generation.startedAt, 'startedAt'),
    response_timestamp: nullableTimestampParam(generation.responseTimestamp, 'responseTimestamp'),
    duration_ms: generation.durationMs,
    progress: String(generation.progress),
    points_spent: generation.pointsSpent,
    protocol_net_points: generation.protocolNetPoints,
    cost_usd: generation.costUsd,
    cost_provenance: jsonParam(generation.costProvenance ?? null, 'costProvenance'),
    notification_platform: textField(generation.notificationPlatform, 'notificationPlatform'),
    delivery_status: generation.deliveryStatus,
    delivery_attempts: generation.deliveryAttempts,
    delivery_timestamp: nullableTimestampParam(generation.deliveryTimestamp, 'deliveryTimestamp'),
    delivery_error: textField(generation.deliveryError, 'deliveryError'),
    delivery_strategy: textField(generation.deliveryStrategy, 'deliveryStrategy'),
    cast_id: textField(generation.castId, 'castId'),
    cook_id: textField(generation.cookId, 'cookId'),
    spell_id: textField(generation.spellId, 'spellId'),
    collection_id: textField(generation.collectionId, 'collectionId'),
    request_payload: jsonParam(generation.requestPayload, 'requestPayload'),
    response_payload: jsonParam(generation.responsePayload, 'responsePayload'),
    artifact_urls: jsonParam(generation.artifactUrls, 'artifactUrls'),
    error_details: jsonParam(generation.errorDetails, 'errorDetails'),
    metadata: jsonParam(generation.metadata, 'metadata'),
    idempotency_key: textField(generation.idempotencyKey, 'idempotencyKey'),
    version: generation.version,
    updated_at: timestampParam(generation.updatedAt, 'updatedAt'),
  };
}

function parentAggregatesToRow(parent: Cast | Cook): Record<string, SqlValue> {
  return {
    status: parent.status,
    in_flight_count: parent.inFlightCount,
    outcome_success: parent.outcomes.success,
    outcome_failed: parent.outcomes.failed,
    outcome_cancelled_by_user: parent.outcomes.cancelled_by_user,
    outcome_timeout: parent.outcomes.timeout,
    points_spent: parent.pointsSpent,
    protocol_net_points: parent.protocolNetPoints,
    cost_usd: parent.costUsd,
    completed_at: nullableTimestampParam(parent.completedAt, 'completedAt'),
    duration_ms: parent.durationMs,
    updated_at: timestampParam(parent.updatedAt, 'updatedAt'),
    version: parent.version,
  };
}

export function castAggregatesToRow(cast: Cast): Record<string, SqlValue> {
  return {
    ...parentAggregatesToRow(cast),
    step_generation_ids: JSON.stringify(cast.stepGenerationIds),
  };
}

export function castToRow(cast: Cast): Record<string, SqlValue> {
  return {
    id: storableText(cast.id, 'id'),
    spell_id: storableText(cast.spellId, 'spellId'),
    initiator_account_id: storableText(cast.initiatorAccountId, 'initiatorAccountId'),
    total_steps: cast.totalSteps,
    cook_id: storableText(cast.cookId, 'cookId'),
    collection_id: storableText(cast.collectionId, 'collectionId'),
    started_at: timestampParam(cast.startedAt, 'startedAt'),
    metadata: jsonParam(cast.metadata, 'metadata'),
    idempotency_key: storableText(cast.idempotencyKey, 'idempotencyKey'),
    ...castAggregatesToRow(cast),
  };
}

export function cookAggregatesToRow(cook: Cook): Record<string, SqlValue> {
  return {
    ...parentAggregatesToRow(cook),
    generated_count: cook.generatedCount,
    failed_count: cook.failedCount,
    cancelled_count: cook.cancelledCount,
    open_generation_count: cook.openGenerationCount,
    generation_ids: JSON.stringify(cook.generationIds),
    cast_ids: JSON.stringify(cook.castIds),
  };
}

export function cookToRow(cook: Cook): Record<string, SqlValue> {
  return {
    id: storableText(cook.id, 'id'),
    collection_id: storableText(cook.collectionId, 'collectionId'),
    initiator_account_id: storableText(cook.initiatorAccountId, 'initiatorAccountId'),
    target_supply: cook.targetSupply,
    started_at: timestampParam(cook.startedAt, 'startedAt'),
    metadata: jsonParam(cook.metadata, 'metadata'),
    idempotency_key: storableText(cook.idempotencyKey, 'idempotencyKey'),
    ...cookAggregatesToRow(cook),
  };
}

// ---------------------------------------------------------------------------------------------
// Summaries (reconcile) and write results.

function outcomeCounts(row: Row, prefix: string) {
  return {
    success: integer(row, prefix, 'success'),
    failed: integer(row, prefix, 'failed'),
    cancelled_by_user: integer(row, prefix, 'cancelled_by_user'),
    timeout: integer(row, prefix, 'timeout'),
  };
}

/** A summary row of `casts.summarize` or `cooks.summarize`. */
export function childrenSummaryFromRow(row: Row, withCastPieces: boolean): ChildrenSummary {
  return {
    generations: {
      finished: {
        outcomes: outcomeCounts(row, ''),
        pointsSpent: integer(row, '', 'points_spent'),
        protocolNetPoints: integer(row, '', 'protocol_net_points'),
        costUsd: money(row, '', 'cost_usd'),
      },
      finishedPieces: outcomeCounts(row, 'piece_'),
      lastFinishedAt: nullableDate(row, '', 'last_finished_at'),
      unfinishedCount: integer(row, '', 'unfinished'),
      unfinishedPieces: integer(row, '', 'unfinished_pieces'),
      firstIds: stringList(row, '', 'first_ids'),
    },
    casts: withCastPieces
      ? {
          completed: integer(row, '', 'casts_completed'),
          failed: integer(row, '', 'casts_failed'),
          cancelled: integer(row, '', 'casts_cancelled'),
          lastFinishedAt: nullableDate(row, '', 'casts_last_finished_at'),
          unfinishedCount: integer(row, '', 'casts_unfinished'),
          firstIds: stringList(row, '', 'casts_first_ids'),
        }
      : null,
  };
}

/** `changed`, `previous_status` and the record, as every conditional write returns them. */
export function writeResultFromRow<T extends { status: string }>(row: Row, toRecord: (row: Row, prefix: string) => T, prefix = ''): WriteResult<T> {
  return {
    changed: field(row, prefix, 'changed') === true,
    record: toRecord(row, prefix),
    previousStatus: text(row, prefix, 'previous_status') as T['status'],
  };
}

/**
 * genledger/otel: records a tracker's work as OpenTelemetry spans. A cook is a root span, its casts
 * are child spans, and each generation is a span under its cast (or its cook), with attributes
 * named after OpenTelemetry's GenAI semantic conventions where they fit (`gen_ai.operation.name`,
 * `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.id`, `gen_ai.conversation.id`,
 * `gen_ai.workflow.name`) and `genledger.*` for the rest (status, points, exact cost as a string).
 *
 * Needs `@opentelemetry/api` (an optional peer dependency) and an SDK configured by the host.
 *
 * ```ts
 * import { trace } from '@opentelemetry/api';
 * import { recordSpans } from 'genledger/otel';
 * const bridge = recordSpans(tracker, { tracer: trace.getTracer('my-service') });
 * // ... bridge.close() on shutdown ends open spans and unsubscribes.
 * ```
 *
 * Spans are built from the tracker's in-process events, so they cover the work this process does;
 * a cast started by another process appears as a root span carrying `genledger.cast.id`.
 * @module
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { Cast, Cook, Generation } from '../domain/records.js';
import type { Tracker } from '../tracker/create-tracker.js';
import { costSourceOf } from '../domain/pricing.js';

export interface SpanBridgeOptions {
  /** Where spans go: `trace.getTracer('your-service')`. */
  readonly tracer: Tracer;
  /**
   * Record each progress report as a span event (`genledger.progress`).
   * @default true
   */
  readonly progressEvents?: boolean;
}

export interface SpanBridge {
  /** Spans started and not yet ended, by record id. */
  readonly openSpans: number;
  /** Unsubscribes from the tracker and ends every open span now. */
  close(): void;
}

/** Span attribute names this bridge sets. */
export const SPAN_ATTRIBUTES = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  model: 'gen_ai.request.model',
  responseId: 'gen_ai.response.id',
  conversation: 'gen_ai.conversation.id',
  workflow: 'gen_ai.workflow.name',
  generationId: 'genledger.generation.id',
  castId: 'genledger.cast.id',
  cookId: 'genledger.cook.id',
  spellId: 'genledger.spell.id',
  collectionId: 'genledger.collection.id',
  accountId: 'genledger.account.id',
  toolName: 'genledger.tool.display_name',
  status: 'genledger.status',
  pointsSpent: 'genledger.points_spent',
  protocolNetPoints: 'genledger.protocol_net_points',
  costUsd: 'genledger.cost_usd',
  /** Where the cost came from: `reported`, `computed`, `backfilled`, `repriced`, `unpriced` (the shape semantic-conventions-genai #443 proposes for a cost's source). */
  costSource: 'genledger.cost.source',
  /** The price version a computed cost used. */
  priceVersion: 'genledger.cost.price_version',
  /** Usage units, one attribute each: `genledger.usage.<unit>` (this is the prefix). */
  usagePrefix: 'genledger.usage.',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  durationMs: 'genledger.duration_ms',
  targetSupply: 'genledger.cook.target_supply',
  generatedCount: 'genledger.cook.generated_count',
  failedCount: 'genledger.cook.failed_count',
} as const;

function compact(attributes: Record<string, string | number | null | undefined>): Attributes {
  const result: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== null && value !== undefined) result[key] = value;
  return result;
}

const FAILED: ReadonlySet<string> = new Set(['failed', 'timeout']);

/** What a finished cast or cook span carries. */
function parentAttributes(parent: Cast | Cook): Attributes {
  return compact({
    [SPAN_ATTRIBUTES.status]: parent.status,
    [SPAN_ATTRIBUTES.pointsSpent]: parent.pointsSpent,
    [SPAN_ATTRIBUTES.protocolNetPoints]: parent.protocolNetPoints,
    [SPAN_ATTRIBUTES.costUsd]: parent.costUsd,
    [SPAN_ATTRIBUTES.durationMs]: parent.durationMs,
  });
}

/** A finished generation's cost source, price version and usage (token counts also under the gen_ai names). */
function usageAttributes(generation: Generation): Record<string, string | number | null> {
  const provenance = generation.costProvenance ?? null;
  const attributes: Record<string, string | number | null> = {
    [SPAN_ATTRIBUTES.costSource]: costSourceOf(generation),
    [SPAN_ATTRIBUTES.priceVersion]: provenance?.basis?.versionId ?? null,
  };
  const usage = provenance?.usage ?? {};
  for (const [unit, quantity] of Object.entries(usage)) attributes[`${SPAN_ATTRIBUTES.usagePrefix}${unit}`] = quantity;
  if (usage.inputTokens !== undefined) attributes[SPAN_ATTRIBUTES.inputTokens] = usage.inputTokens;
  if (usage.outputTokens !== undefined) attributes[SPAN_ATTRIBUTES.outputTokens] = usage.outputTokens;
  return attributes;
}

export function recordSpans(tracker: Tracker, options: SpanBridgeOptions): SpanBridge {
  const { tracer } = options;
  const spans = new Map<string, Span>();
  const parentContext = (parentId: string | null) => {
    const parent = parentId === null ? undefined : spans.get(parentId);
    return parent ? trace.setSpan(context.active(), parent) : context.active();
  };

  /** Opens the span of a record once (a replayed "started" event finds it open), under its parent's span. */
  function open(
    id: string,
    name: string,
    kind: SpanKind,
    startTime: Date,
    attributes: Parameters<typeof compact>[0],
    parentId: string | null,
  ): void {
    if (spans.has(id)) return;
    spans.set(id, tracer.startSpan(name, { kind, startTime, attributes: compact(attributes) }, parentContext(parentId)));
  }

  function startCook(cook: Cook): void {
    open(
      cook.id,
      `invoke_workflow cook ${cook.collectionId}`,
      SpanKind.INTERNAL,
      cook.startedAt,
      {
        [SPAN_ATTRIBUTES.operation]: 'invoke_workflow',
        [SPAN_ATTRIBUTES.workflow]: `cook ${cook.collectionId}`,
        [SPAN_ATTRIBUTES.cookId]: cook.id,
        [SPAN_ATTRIBUTES.collectionId]: cook.collectionId,
        [SPAN_ATTRIBUTES.accountId]: cook.initiatorAccountId,
        [SPAN_ATTRIBUTES.targetSupply]: cook.targetSupply,
      },
      null,
    );
  }

  function startCast(cast: Cast): void {
    open(
      cast.id,
      `invoke_workflow ${cast.spellId}`,
      SpanKind.INTERNAL,
      cast.startedAt,
      {
        [SPAN_ATTRIBUTES.operation]: 'invoke_workflow',
        [SPAN_ATTRIBUTES.workflow]: cast.spellId,
        [SPAN_ATTRIBUTES.castId]: cast.id,
        [SPAN_ATTRIBUTES.spellId]: cast.spellId,
        [SPAN_ATTRIBUTES.cookId]: cast.cookId,
        [SPAN_ATTRIBUTES.accountId]: cast.initiatorAccountId,
      },
      cast.cookId,
    );
  }

  function startGeneration(generation: Generation): void {
    open(
      generation.id,
      `generate_content ${generation.toolId}`,
      SpanKind.CLIENT,
      generation.requestTimestamp,
      {
        [SPAN_ATTRIBUTES.operation]: 'generate_content',
        [SPAN_ATTRIBUTES.provider]: generation.serviceName,
        [SPAN_ATTRIBUTES.model]: generation.toolId,
        [SPAN_ATTRIBUTES.conversation]: generation.sessionId,
        [SPAN_ATTRIBUTES.generationId]: generation.id,
        [SPAN_ATTRIBUTES.castId]: generation.castId,
        [SPAN_ATTRIBUTES.cookId]: generation.cookId,
        [SPAN_ATTRIBUTES.spellId]: generation.spellId,
        [SPAN_ATTRIBUTES.collectionId]: generation.collectionId,
        [SPAN_ATTRIBUTES.accountId]: generation.masterAccountId,
        [SPAN_ATTRIBUTES.toolName]: generation.toolDisplayName,
      },
      generation.castId ?? generation.cookId,
    );
  }

  function end(id: string, endTime: Date | null, attributes: Attributes, failed: boolean, message?: string): void {
    const span = spans.get(id);
    if (!span) return;
    span.setAttributes(attributes);
    span.setStatus(failed ? { code: SpanStatusCode.ERROR, message } : { code: SpanStatusCode.OK });
    span.end(endTime ?? undefined);
    spans.delete(id);
  }

  const unsubscribers = [
    tracker.on('cookUpdate', ({ change, cook }) => {
      if (change === 'started') startCook(cook);
    }),
    tracker.on('castUpdate', ({ change, cast }) => {
      if (change === 'started') startCast(cast);
    }),
    tracker.on('generationUpdate', ({ change, generation }) => {
      if (change === 'recorded') startGeneration(generation);
      else if (change === 'started') spans.get(generation.id)?.addEvent('genledger.started', {}, generation.startedAt ?? undefined);
    }),
    tracker.on('generationProgress', ({ generation, progress, liveStatus }) => {
      if (options.progressEvents === false) return;
      spans
        .get(generation.id)
        ?.addEvent(
          'genledger.progress',
          compact({ 'genledger.progress': progress, 'genledger.live_status': liveStatus }),
          generation.updatedAt,
        );
    }),
    tracker.on('generationFinished', ({ generation }) => {
      const message =
        generation.errorDetails && typeof generation.errorDetails.message === 'string'
          ? generation.errorDetails.message
          : generation.status;
      end(
        generation.id,
        generation.responseTimestamp,
        compact({
          [SPAN_ATTRIBUTES.status]: generation.status,
          [SPAN_ATTRIBUTES.responseId]: generation.platformSpecificRunId,
          [SPAN_ATTRIBUTES.pointsSpent]: generation.pointsSpent,
          [SPAN_ATTRIBUTES.protocolNetPoints]: generation.protocolNetPoints,
          [SPAN_ATTRIBUTES.costUsd]: generation.costUsd,
          [SPAN_ATTRIBUTES.durationMs]: generation.durationMs,
          ...usageAttributes(generation),
        }),
        FAILED.has(generation.status),
        message,
      );
    }),
    tracker.on('castFinished', ({ cast }) => end(cast.id, cast.completedAt, parentAttributes(cast), cast.status === 'failed', cast.status)),
    tracker.on('cookFinished', ({ cook }) =>
      end(
        cook.id,
        cook.completedAt,
        {
          ...parentAttributes(cook),
          [SPAN_ATTRIBUTES.generatedCount]: cook.generatedCount,
          [SPAN_ATTRIBUTES.failedCount]: cook.failedCount,
        },
        cook.status === 'failed',
        cook.status,
      ),
    ),
  ];

  return {
    get openSpans() {
      return spans.size;
    },
    close() {
      for (const unsubscribe of unsubscribers) unsubscribe();
      for (const span of spans.values()) span.end();
      spans.clear();
    },
  };
}

import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { recordSpans } from '../src/otel/index.js';
import { memoryRepository } from '../adapters/memory/index.js';
import { createTestTracker, runCast, runCook } from '../src/testing/index.js';
import { createTracker } from '../src/tracker/create-tracker.js';
import { silentLogger } from '../src/tracker/logger.js';

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, tracer: provider.getTracer('genledger-test') };
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('genledger/otel', () => {
  it('a generation span carries its usage and its cost with the cost\'s source and price version', async () => {
    const { exporter, tracer } = tracing();
    const prices = [{ toolId: 'chat', versions: [{ id: 'chat-v1', effectiveFrom: new Date('2020-01-01T00:00:00.000Z'), units: { inputTokens: '0.000003', outputTokens: '0.000015' } }] }];
    const tracker = createTracker({ repository: memoryRepository(), prices, logger: silentLogger });
    const bridge = recordSpans(tracker, { tracer });
    const computed = await tracker.recordGeneration({ masterAccountId: 'a', toolId: 'chat', toolDisplayName: 'Chat', serviceName: 'openai' });
    await tracker.completeGeneration(computed.id, { status: 'success', usage: { inputTokens: 1000, outputTokens: 200 } });
    const reported = await tracker.recordGeneration({ masterAccountId: 'a', toolId: 'chat', toolDisplayName: 'Chat', serviceName: 'openai' });
    await tracker.completeGeneration(reported.id, { status: 'success', costUsd: '0.01' });
    const spans = exporter.getFinishedSpans();
    const computedSpan = spans.find((span) => span.attributes['genledger.generation.id'] === computed.id)!;
    expect(computedSpan.attributes).toMatchObject({
      'genledger.cost_usd': '0.006',
      'genledger.cost.source': 'computed',
      'genledger.cost.price_version': 'chat-v1',
      'genledger.usage.inputTokens': 1000,
      'genledger.usage.outputTokens': 200,
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 200,
    });
    const reportedSpan = spans.find((span) => span.attributes['genledger.generation.id'] === reported.id)!;
    expect(reportedSpan.attributes['genledger.cost.source']).toBe('reported');
    expect(reportedSpan.attributes['genledger.cost.price_version']).toBeUndefined();
    bridge.close();
  });

  it('records a cook of casts as a span tree with GenAI attributes', async () => {
    const { exporter, tracer } = tracing();
    const { tracker, clock } = createTestTracker({ repository: memoryRepository() });
    const bridge = recordSpans(tracker, { tracer });
    const cook = await runCook(
      tracker,
      {
        collectionId: 'moonlit-cats',
        targetSupply: 1,
        pieces: [
          { steps: [{ record: { toolId: 'sdxl', serviceName: 'comfy', platformSpecificRunId: 'run-1' }, progress: [0.5], complete: { status: 'success', costUsd: '0.0185', pointsSpent: 19 } }, { record: { toolId: 'upscale' }, complete: { status: 'failed', errorDetails: { message: 'CUDA out of memory' } } }] },
          { steps: [{ record: { toolId: 'sdxl' }, complete: { status: 'success', costUsd: '0.02' } }] },
        ],
      },
      clock,
    );
    expect(cook.status).toBe('completed');
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1 + 2 + 3);
    const cookSpan = spans.find((span) => span.attributes['genledger.cook.id'] === cook.id && !span.attributes['genledger.cast.id'] && !span.attributes['genledger.generation.id'])!;
    expect(parentOf(cookSpan)).toBeUndefined();
    expect(cookSpan.attributes).toMatchObject({ 'gen_ai.operation.name': 'invoke_workflow', 'genledger.status': 'completed', 'genledger.cost_usd': '0.0385', 'genledger.cook.generated_count': 1 });
    const castSpans = spans.filter((span) => span.attributes['gen_ai.operation.name'] === 'invoke_workflow' && span.attributes['genledger.cast.id']);
    expect(castSpans).toHaveLength(2);
    for (const castSpan of castSpans) expect(parentOf(castSpan)).toBe(cookSpan.spanContext().spanId);
    expect(castSpans.map((span) => span.status.code).sort()).toEqual([SpanStatusCode.OK, SpanStatusCode.ERROR].sort());
    const generationSpans = spans.filter((span) => span.attributes['gen_ai.operation.name'] === 'generate_content');
    expect(generationSpans).toHaveLength(3);
    for (const generationSpan of generationSpans) {
      const castSpan = castSpans.find((span) => span.attributes['genledger.cast.id'] === generationSpan.attributes['genledger.cast.id'])!;
      expect(parentOf(generationSpan)).toBe(castSpan.spanContext().spanId);
      expect(generationSpan.spanContext().traceId).toBe(cookSpan.spanContext().traceId);
    }
    const first = generationSpans.find((span) => span.attributes['gen_ai.response.id'] === 'run-1')!;
    expect(first.name).toBe('generate_content sdxl');
    expect(first.attributes).toMatchObject({ 'gen_ai.provider.name': 'comfy', 'gen_ai.request.model': 'sdxl', 'genledger.cost_usd': '0.0185', 'genledger.points_spent': 19, 'genledger.status': 'success' });
    expect(first.events.map((event) => event.name)).toEqual(['genledger.started', 'genledger.progress']);
    const failed = generationSpans.find((span) => span.attributes['gen_ai.request.model'] === 'upscale')!;
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'CUDA out of memory' });
    // Span times are the records' own times, not the time the events fired.
    const durationMs = (span: ReadableSpan) => span.duration[0] * 1000 + span.duration[1] / 1e6;
    expect(durationMs(first)).toBe(first.attributes['genledger.duration_ms']);
    expect(bridge.openSpans).toBe(0);
    bridge.close();
  });

  it('close() ends open spans and stops listening', async () => {
    const { exporter, tracer } = tracing();
    const { tracker } = createTestTracker({ repository: memoryRepository() });
    const bridge = recordSpans(tracker, { tracer });
    const cast = await tracker.startCast({ spellId: 'spell', initiatorAccountId: 'a' });
    expect(bridge.openSpans).toBe(1);
    bridge.close();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    await runCast(tracker, { steps: [{}] });
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    expect(cast.status).toBe('running');
  });
});

/**
 * The nested work every overhead benchmark records: a 3-step cast, and a 100-piece cook of 2-step
 * casts. Each step is recorded, started, reports progress once, and completes with points and a
 * cost. The same work is written once for genledger and once for OpenTelemetry spans, with the same
 * attributes, so the two are compared like for like.
 */
import { context, trace, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { Tracker } from '../src/index.js';

export const STEP = { toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', costUsd: '0.0185', pointsSpent: 19 } as const;

/** A generation piece of a cook, recorded already running, as the scale and hot-parent figures record them. */
export function cookPieceInput(cookId: string, accountId = 'account-bench') {
  return {
    masterAccountId: accountId,
    toolId: STEP.toolId,
    toolDisplayName: STEP.toolDisplayName,
    serviceName: STEP.serviceName,
    cookId,
    status: 'processing',
  } as const;
}

async function trackerStep(tracker: Tracker, castId: string, accountId: string): Promise<void> {
  const generation = await tracker.recordGeneration({ masterAccountId: accountId, toolId: STEP.toolId, toolDisplayName: STEP.toolDisplayName, serviceName: STEP.serviceName, castId });
  await tracker.startGeneration(generation.id);
  await tracker.reportProgress(generation.id, { progress: 0.5 });
  await tracker.completeGeneration(generation.id, { status: 'success', costUsd: STEP.costUsd, pointsSpent: STEP.pointsSpent });
}

export async function trackerCast(tracker: Tracker, steps = 3, cookId?: string): Promise<void> {
  const cast = await tracker.startCast({ spellId: 'spell-bench', initiatorAccountId: 'account-bench', totalSteps: steps, cookId });
  for (let step = 0; step < steps; step += 1) await trackerStep(tracker, cast.id, 'account-bench');
}

export async function trackerCook(tracker: Tracker, pieces = 100, stepsPerPiece = 2): Promise<void> {
  const cook = await tracker.startCook({ collectionId: 'collection-bench', initiatorAccountId: 'account-bench', targetSupply: pieces });
  for (let piece = 0; piece < pieces; piece += 1) await trackerCast(tracker, stepsPerPiece, cook.id);
}

function otelStep(tracer: Tracer, parent: ReturnType<typeof context.active>, castId: string): { cost: number } {
  const span = tracer.startSpan(
    `generate_content ${STEP.toolId}`,
    { attributes: { 'gen_ai.operation.name': 'generate_content', 'gen_ai.provider.name': STEP.serviceName, 'gen_ai.request.model': STEP.toolId, 'genledger.tool.display_name': STEP.toolDisplayName, 'genledger.account.id': 'account-bench', 'genledger.cast.id': castId, 'genledger.status': 'pending' } },
    parent,
  );
  span.setAttribute('genledger.status', 'processing');
  span.addEvent('genledger.progress', { 'genledger.progress': 0.5 });
  span.setAttributes({ 'genledger.status': 'success', 'genledger.cost_usd': STEP.costUsd, 'genledger.points_spent': STEP.pointsSpent });
  span.setStatus({ code: SpanStatusCode.OK });
  span.end();
  return { cost: Number(STEP.costUsd) };
}

export function otelCast(tracer: Tracer, steps = 3, parent = context.active(), index = 0): { cost: number; points: number } {
  const castId = `cast-${index}`;
  const span = tracer.startSpan('invoke_workflow spell-bench', { attributes: { 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.workflow.name': 'spell-bench', 'genledger.cast.id': castId, 'genledger.account.id': 'account-bench', 'genledger.cast.total_steps': steps } }, parent);
  const inside = trace.setSpan(parent, span);
  let cost = 0;
  let points = 0;
  for (let step = 0; step < steps; step += 1) {
    cost += otelStep(tracer, inside, castId).cost;
    points += STEP.pointsSpent;
  }
  span.setAttributes({ 'genledger.status': 'completed', 'genledger.cost_usd': cost, 'genledger.points_spent': points });
  span.setStatus({ code: SpanStatusCode.OK });
  span.end();
  return { cost, points };
}

export function otelCook(tracer: Tracer, pieces = 100, stepsPerPiece = 2): void {
  const span = tracer.startSpan('invoke_workflow cook collection-bench', { attributes: { 'gen_ai.operation.name': 'invoke_workflow', 'genledger.collection.id': 'collection-bench', 'genledger.cook.target_supply': pieces } });
  const inside = trace.setSpan(context.active(), span);
  let cost = 0;
  let points = 0;
  for (let piece = 0; piece < pieces; piece += 1) {
    const result = otelCast(tracer, stepsPerPiece, inside, piece);
    cost += result.cost;
    points += result.points;
    span.setAttributes({ 'genledger.cook.generated_count': piece + 1, 'genledger.cost_usd': cost, 'genledger.points_spent': points });
  }
  span.setAttributes({ 'genledger.status': 'completed' });
  span.end();
}

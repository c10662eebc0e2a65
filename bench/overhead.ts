/**
 * Figure 1, tracking overhead: the same nested work (bench/workloads.ts) recorded by genledger on
 * the memory store and by the OpenTelemetry JS SDK as nested spans (BasicTracerProvider,
 * SimpleSpanProcessor, InMemorySpanExporter).
 *
 * Two measures, both taken in rounds that alternate the two sides, so load from other processes
 * hits both sides of a comparison alike; each ratio is taken per round and the median is kept:
 *
 * - **Time on the caller's path** (tinybench, wall clock, median of the samples): what a call
 *   adds to the code that makes it. Each genledger iteration starts from an empty memory store,
 *   each OpenTelemetry iteration from an emptied exporter, both prepared outside the timed call.
 *   OpenTelemetry's SimpleSpanProcessor hands every ended span to the exporter in a promise, and
 *   the InMemorySpanExporter acknowledges each one on a `setTimeout(0)`: that part runs after the
 *   call returns. It is drained (`forceFlush`, not timed) every 64 samples and after the task, so
 *   it never lands in genledger's samples.
 * - **CPU per iteration, deferred work included** (process CPU time over batches of iterations,
 *   OpenTelemetry's batch ending with `forceFlush`): everything each side makes the process do,
 *   the exporter's timers and garbage collection included, without counting idle waiting. (No
 *   forced collection between batches: a forced full collection makes V8 drop compiled code, and
 *   the next batch then runs slower.)
 */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Bench, type Task } from 'tinybench';
import { memoryRepository } from '../adapters/memory/index.js';
import { createTracker, type Tracker } from '../src/index.js';
import { cpuMs, median } from './stats.js';
import { otelCast, otelCook, trackerCast, trackerCook } from './workloads.js';

export interface OverheadOptions {
  /** Rounds of each measure. */
  readonly rounds: number;
  /** tinybench time budget per task per round, in ms. */
  readonly timeMs: number;
}

export interface OverheadRow {
  readonly workload: string;
  /** Generations genledger records per iteration; spans OpenTelemetry makes; genledger's public calls. */
  readonly generations: number;
  readonly spans: number;
  readonly trackerCalls: number;
  /** Caller's path: median over rounds of each side's median sample, microseconds per iteration. */
  readonly wallGenledgerUs: number;
  readonly wallOtelUs: number;
  /** genledger / OpenTelemetry: median of the per-round ratios, with their range. Below 1: genledger is faster. */
  readonly wallRatio: number;
  readonly wallRatioRange: readonly [number, number];
  /** CPU per iteration, deferred work included: median over rounds, microseconds. */
  readonly cpuGenledgerUs: number;
  readonly cpuOtelUs: number;
  readonly cpuRatio: number;
  readonly cpuRatioRange: readonly [number, number];
  readonly samples: { readonly genledger: number; readonly otel: number };
}

export interface OverheadResult {
  readonly rows: readonly OverheadRow[];
  readonly rounds: number;
  readonly timeMs: number;
  readonly cpuBatch: { readonly cast: number; readonly cook: number };
}

const WORKLOADS = [
  // startCast + 3 x (recordGeneration, startGeneration, reportProgress, completeGeneration).
  { key: 'cast', name: '3-step cast', generations: 3, spans: 4, trackerCalls: 1 + 3 * 4, cpuBatch: 1000 },
  // startCook + 100 x (startCast + 2 x 4 calls).
  {
    key: 'cook',
    name: '100-piece cook of 2-step casts',
    generations: 200,
    spans: 1 + 100 * 3,
    trackerCalls: 1 + 100 * (1 + 2 * 4),
    cpuBatch: 20,
  },
] as const;

function sampleMedian(task: Task | undefined): { median: number; samples: number } {
  const result = task?.result;
  if (!result || result.state !== 'completed') throw new Error(`tinybench task ${task?.name} did not complete (${result?.state})`);
  return { median: result.latency.p50, samples: result.latency.samplesCount };
}

export async function measureOverhead(options: OverheadOptions, log: (line: string) => void = () => {}): Promise<OverheadResult> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('genledger-bench');
  let tracker: Tracker = createTracker({ repository: memoryRepository() });
  const freshTracker = () => {
    tracker = createTracker({ repository: memoryRepository() });
  };
  const drainExports = async () => {
    await provider.forceFlush();
    exporter.reset();
  };

  // Both sides do the work they claim, once, before anything is timed.
  await trackerCook(tracker, 100, 2);
  const cook = (await tracker.listGenerations({ limit: 1 })).items[0];
  if (!cook || (await tracker.getCook(cook.cookId!))?.status !== 'completed') throw new Error('the genledger cook did not complete');
  otelCook(tracer, 100, 2);
  await provider.forceFlush();
  if (exporter.getFinishedSpans().length !== WORKLOADS[1].spans)
    throw new Error('the OpenTelemetry cook made an unexpected number of spans');
  exporter.reset();

  const run = {
    cast: { ours: () => trackerCast(tracker, 3), theirs: () => void otelCast(tracer, 3) },
    cook: { ours: () => trackerCook(tracker, 100, 2), theirs: () => otelCook(tracer, 100, 2) },
  } as const;

  const perWorkload = WORKLOADS.map(() => ({
    wall: { ours: [] as number[], theirs: [] as number[], ratio: [] as number[] },
    cpu: { ours: [] as number[], theirs: [] as number[], ratio: [] as number[] },
    samples: { genledger: 0, otel: 0 },
  }));

  for (let round = 0; round < options.rounds; round += 1) {
    // Caller's path, tinybench. Which side goes first alternates by round.
    const bench = new Bench({ time: options.timeMs, warmupTime: Math.min(250, options.timeMs), iterations: 32, throws: true });
    for (const workload of WORKLOADS) {
      const ours = () => bench.add(`genledger ${workload.key}`, run[workload.key].ours, { beforeEach: freshTracker });
      let sampled = 0;
      const theirs = () =>
        bench.add(`otel ${workload.key}`, run[workload.key].theirs, {
          // Deferred exports are drained every 64 samples (untimed) and after the task, so they never
          // pile up without bound nor land in a later sample; in between, samples run back to back,
          // as genledger's do.
          afterEach: () => (++sampled % 64 === 0 ? drainExports() : undefined),
          afterAll: drainExports,
        });
      if (round % 2 === 0) {
        ours();
        theirs();
      } else {
        theirs();
        ours();
      }
    }
    await bench.run();
    const byName = new Map(bench.tasks.map((task) => [task.name, task]));
    WORKLOADS.forEach((workload, index) => {
      const slot = perWorkload[index]!;
      const ours = sampleMedian(byName.get(`genledger ${workload.key}`));
      const theirs = sampleMedian(byName.get(`otel ${workload.key}`));
      slot.wall.ours.push(ours.median);
      slot.wall.theirs.push(theirs.median);
      slot.wall.ratio.push(ours.median / theirs.median);
      slot.samples.genledger += ours.samples;
      slot.samples.otel += theirs.samples;
    });

    // CPU per iteration over batches, deferred work included.
    for (const [index, workload] of WORKLOADS.entries()) {
      const slot = perWorkload[index]!;
      const sides = [
        async () => {
          freshTracker();
          const start = cpuMs();
          for (let iteration = 0; iteration < workload.cpuBatch; iteration += 1) await run[workload.key].ours();
          return (cpuMs() - start) / workload.cpuBatch;
        },
        async () => {
          exporter.reset();
          const start = cpuMs();
          for (let iteration = 0; iteration < workload.cpuBatch; iteration += 1) run[workload.key].theirs();
          await provider.forceFlush();
          return (cpuMs() - start) / workload.cpuBatch;
        },
      ] as const;
      // Three batches a side per round, interleaved, the median kept.
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let batch = 0; batch < 3; batch += 1) {
        if ((round + batch) % 2 === 0) {
          ours.push(await sides[0]());
          theirs.push(await sides[1]());
        } else {
          theirs.push(await sides[1]());
          ours.push(await sides[0]());
        }
      }
      slot.cpu.ours.push(median(ours));
      slot.cpu.theirs.push(median(theirs));
      slot.cpu.ratio.push(median(ours) / median(theirs));
    }
    log(
      `  round ${round + 1}/${options.rounds}: ` +
        WORKLOADS.map((workload, index) => {
          const slot = perWorkload[index]!;
          return `${workload.name}: caller's path ${slot.wall.ratio.at(-1)!.toFixed(2)}x, CPU ${slot.cpu.ratio.at(-1)!.toFixed(2)}x`;
        }).join('; '),
    );
  }
  await drainExports();
  await provider.shutdown();

  return {
    rounds: options.rounds,
    timeMs: options.timeMs,
    cpuBatch: { cast: WORKLOADS[0].cpuBatch, cook: WORKLOADS[1].cpuBatch },
    rows: WORKLOADS.map((workload, index) => {
      const slot = perWorkload[index]!;
      return {
        workload: workload.name,
        generations: workload.generations,
        spans: workload.spans,
        trackerCalls: workload.trackerCalls,
        wallGenledgerUs: median(slot.wall.ours) * 1000,
        wallOtelUs: median(slot.wall.theirs) * 1000,
        wallRatio: median(slot.wall.ratio),
        wallRatioRange: [Math.min(...slot.wall.ratio), Math.max(...slot.wall.ratio)],
        cpuGenledgerUs: median(slot.cpu.ours) * 1000,
        cpuOtelUs: median(slot.cpu.theirs) * 1000,
        cpuRatio: median(slot.cpu.ratio),
        cpuRatioRange: [Math.min(...slot.cpu.ratio), Math.max(...slot.cpu.ratio)],
        samples: slot.samples,
      };
    }),
  };
}

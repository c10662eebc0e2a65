/**
 * Group commit's queue, the one every batched statement shares (`settle_generations` in
 * settle-generations.ts, `insert_generations` in creation-sql.ts): it forms the batches; the
 * statement decides what each call gets.
 *
 * Why a queue with no timer: the first call goes out alone at once (no call waits for a batch to
 * fill), and what queues while a statement is in flight goes out as the next batch (at most
 * `maxBatch` calls, and cut before a call that `startsNextBatch` says must see the batch's writes
 * first) when it returns. One statement in flight per queue: the calls that waited share its
 * locks, its plan and its commit. A promise resolves only when the statement that carried its call
 * has returned, so after its commit.
 *
 * If the server refuses a batch statement, it wrote nothing (one statement, one transaction), and
 * its calls are sent again one by one, in order, each a batch of one, so a call that cannot be
 * applied fails alone and the others get what they would have got had it never been sent. If the
 * statement never ran (no connection, the server out of resources or shutting down:
 * `isStatementRefusal` says no), no call is to blame and each would meet the same failure alone,
 * one after another, the queue stalled meanwhile: every call of the batch fails with that error
 * at once (what one call sent alone gets), and a retry with its idempotency key is safe.
 */
import { isStatementRefusal } from './client.js';
import type { Row } from './rows.js';

/** A call as the statement receives it: its input and its place in the batch. */
export type Ordinal<Input> = Input & { readonly ordinal: number };

export interface BatchQueueOptions<Input, Result> {
  /** Sends one statement carrying `calls` (ordinals 0, 1, ... in queue order) and returns its rows. */
  send(calls: readonly Ordinal<Input>[]): Promise<readonly Row[]>;
  /** Reads a statement's rows: what the call of each ordinal gets (throwing rejects that call only). */
  read(rows: readonly Row[]): (ordinal: number) => Result;
  /** The most calls one statement carries. */
  readonly maxBatch: number;
  /** A call that must not share a statement with `batch` (it must see their writes): the batch ends before it. */
  startsNextBatch?(input: Input, batch: readonly Input[]): boolean;
  /**
   * When no statement is in flight, wait for the event loop's current turn to end (`setImmediate`,
   * no delay) before sending, so calls made together (a burst of `Promise.all`) share the first
   * statement too, instead of the first going alone. @default false
   */
  readonly gatherTurn?: boolean;
}

interface QueuedCall<Input, Result> {
  readonly input: Input;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export class BatchQueue<Input extends object, Result> {
  private readonly waiting: QueuedCall<Input, Result>[] = [];
  private sending = false;
  private gathering = false;

  constructor(private readonly options: BatchQueueOptions<Input, Result>) {}

  /** Queues one call; resolves with what its statement returned for it. */
  call(input: Input): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.next();
    });
  }

  /** Sends the next batch if no statement is in flight; `now`: without waiting for the turn to end (see `gatherTurn`). */
  private next(now = false): void {
    if (this.sending || this.waiting.length === 0) return;
    if (this.options.gatherTurn === true && !now) {
      if (!this.gathering) {
        this.gathering = true;
        setImmediate(() => {
          this.gathering = false;
          this.next(true);
        });
      }
      return;
    }
    this.sending = true;
    const batch = this.waiting.splice(0, this.batchLength());
    void this.sendBatch(batch).finally(() => {
      this.sending = false;
      // What queued meanwhile has waited a whole statement already: it goes at once.
      this.next(true);
    });
  }

  /** How many of the waiting calls, from the front, go in the next statement (at least one). */
  private batchLength(): number {
    const { maxBatch, startsNextBatch } = this.options;
    const limit = Math.min(maxBatch, this.waiting.length);
    if (startsNextBatch === undefined) return limit;
    const inputs: Input[] = [this.waiting[0]!.input];
    while (inputs.length < limit && !startsNextBatch(this.waiting[inputs.length]!.input, inputs))
      inputs.push(this.waiting[inputs.length]!.input);
    return inputs.length;
  }

  private async sendBatch(batch: readonly QueuedCall<Input, Result>[]): Promise<void> {
    let rows: readonly Row[];
    try {
      rows = await this.options.send(batch.map((call, ordinal) => ({ ...call.input, ordinal })));
    } catch (error) {
      if (batch.length === 1 || !isStatementRefusal(error)) {
        for (const call of batch) call.reject(error);
        return;
      }
      // The server refused the batch: it wrote nothing. Each call alone, in queue order, so the
      // one that cannot be applied fails by itself.
      for (const call of batch) await this.sendBatch([call]);
      return;
    }
    let resultOf: (ordinal: number) => Result;
    try {
      resultOf = this.options.read(rows);
    } catch (error) {
      for (const call of batch) call.reject(error);
      return;
    }
    batch.forEach((call, ordinal) => {
      try {
        call.resolve(resultOf(ordinal));
      } catch (error) {
        call.reject(error);
      }
    });
  }
}

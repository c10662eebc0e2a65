/**
 * The memory store's change feed: every stored write (to a record or an account) becomes a notice, delivered to subscribers
 * in write order on a later microtask (never inside the write). Each subscriber reads a bounded
 * log from the last position it was given, so resuming after a position and live delivery are one
 * and the same path, and nothing between them can be skipped.
 */
import { ConflictError } from 'genledger';
import type { ChangeFeed, ChangeFeedOptions, ChangeKind, ChangeNotice } from 'genledger/adapter';

interface Subscriber {
  readonly options: ChangeFeedOptions;
  delivered: number;
  scheduled: boolean;
  closed: boolean;
}

/** A logged change; its position is its sequence number, spelled as a string on delivery. */
interface LoggedChange {
  readonly kind: ChangeKind;
  readonly id: string;
  readonly version: number;
  readonly sequence: number;
}

export class InProcessChangeFeed implements ChangeFeed {
  private sequence = 0;
  private readonly log: LoggedChange[] = [];
  private readonly subscribers = new Set<Subscriber>();
  /**
   * Until the first subscription no position has been handed out, so no subscriber can ask to
   * resume from one: writes only count, and are logged from the first subscription on.
   */
  private logging = false;

  /** @param retained notices kept for subscribers that are behind or resume after a position */
  constructor(private readonly retained = 10_000) {}

  record(kind: ChangeKind, id: string, version: number): void {
    this.sequence += 1;
    if (!this.logging) return;
    this.log.push({ kind, id, version, sequence: this.sequence });
    // Trimmed in batches: dropping one notice per write would shift the whole log every time.
    if (this.log.length >= this.retained * 2) this.log.splice(0, this.log.length - this.retained);
    for (const subscriber of this.subscribers) this.schedule(subscriber);
  }

  async subscribe(options: ChangeFeedOptions) {
    const after = options.after === undefined ? this.sequence : Number(options.after);
    if (!Number.isSafeInteger(after) || after < 0 || after > this.sequence) {
      throw new ConflictError('after', `"${String(options.after)}" is not a position this memory feed gave`);
    }
    this.logging = true;
    const subscriber: Subscriber = { options, delivered: after, scheduled: false, closed: false };
    this.subscribers.add(subscriber);
    this.schedule(subscriber);
    return {
      close: async () => {
        subscriber.closed = true;
        this.subscribers.delete(subscriber);
      },
    };
  }

  private schedule(subscriber: Subscriber): void {
    if (subscriber.scheduled) return;
    subscriber.scheduled = true;
    queueMicrotask(() => {
      subscriber.scheduled = false;
      this.flush(subscriber);
    });
  }

  private flush(subscriber: Subscriber): void {
    if (subscriber.closed || subscriber.delivered >= this.sequence) return;
    const first = this.log[0];
    if (!first || first.sequence > subscriber.delivered + 1) {
      subscriber.options.onError(
        new Error(`[genledger] [memory] a change feed subscriber fell more than ${this.retained} changes behind; changes were lost to it`),
      );
      subscriber.delivered = first ? first.sequence - 1 : this.sequence;
    }
    const start = this.log.findIndex((change) => change.sequence > subscriber.delivered);
    for (const change of this.log.slice(start)) {
      if (subscriber.closed) return;
      subscriber.delivered = change.sequence;
      const notice: ChangeNotice = { kind: change.kind, id: change.id, version: change.version, position: String(change.sequence) };
      subscriber.options.onChange(notice);
    }
  }
}

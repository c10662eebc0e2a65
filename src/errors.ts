/**
 * Typed errors. Every error genledger throws is a {@link GenledgerError} with a machine-readable
 * `code`, the offending `field` (a dotted path into the call's input, or `null`) and a plain
 * `reason`. Switch on `code` (or `instanceof`) rather than on messages.
 */
import type { z } from 'zod';
import type { EntityKind } from './domain/records.js';
import type { AccountAmount } from './domain/accounts/amounts.js';
import type { Budget } from './domain/accounts/records.js';

export type GenledgerErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'ILLEGAL_TRANSITION'
  | 'CONFLICT'
  | 'REPOSITORY_FAILURE'
  | 'INSUFFICIENT_FUNDS'
  | 'BUDGET_EXCEEDED'
  | 'UNSUPPORTED';

export interface GenledgerErrorOptions {
  readonly field?: string | null;
  readonly reason: string;
  readonly cause?: unknown;
}

export class GenledgerError extends Error {
  /** What kind of failure this is; stable across versions. */
  readonly code: GenledgerErrorCode;
  /** The input field at fault, as a dotted path (`"metadata.$set"`), or `null`. */
  readonly field: string | null;
  /** Why, in words; the message is `[genledger] <field>: <reason>`. */
  readonly reason: string;

  constructor(code: GenledgerErrorCode, options: GenledgerErrorOptions, prefix = '[genledger]') {
    const field = options.field ?? null;
    super(`${prefix} ${field ? `${field}: ` : ''}${options.reason}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.field = field;
    this.reason = options.reason;
  }
}

/** One problem with an input, from zod or from a domain rule. */
export interface ValidationIssue {
  readonly field: string;
  readonly reason: string;
}

/**
 * The input was refused; nothing was written. Fix the input: `issues` lists every problem, and
 * `field`/`reason` repeat the first.
 */
export class ValidationError extends GenledgerError {
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[], cause?: unknown) {
    const first = issues[0] ?? { field: '', reason: 'is invalid' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super('VALIDATION_FAILED', { field: first.field || null, reason: `${first.reason}${more}`, cause });
    this.issues = issues;
  }

  /** Builds the error from a zod error, prefixing each path with the argument's name. */
  static fromZod(error: z.ZodError, argument: string): ValidationError {
    const issues = error.issues.map((issue) => ({
      field: [argument, ...issue.path.map(String)].filter(Boolean).join('.'),
      reason: issue.message,
    }));
    return new ValidationError(issues, error);
  }
}

/** No record with that id. Nothing was written. */
export class NotFoundError extends GenledgerError {
  constructor(
    readonly entity: EntityKind,
    readonly id: string,
    field: string,
  ) {
    super('NOT_FOUND', { field, reason: `no ${entity} with id "${id}"` });
  }
}

/**
 * The record is not in a state that allows the call (finishing a generation that already ended
 * differently, adding a step to a completed cast, pausing a cancelled cook). Nothing was written.
 */
export class IllegalTransitionError extends GenledgerError {
  constructor(
    readonly entity: EntityKind,
    readonly id: string,
    readonly from: string,
    readonly to: string,
    field = 'status',
    reason?: string,
  ) {
    super('ILLEGAL_TRANSITION', { field, reason: reason ?? `${entity} "${id}" cannot go from "${from}" to "${to}"` });
  }
}

/**
 * The call disagrees with what is already stored: a repeated completion with different figures, a
 * parent with too many children in flight, an id already taken. Nothing (more) was written; the
 * stored record stands.
 */
export class ConflictError extends GenledgerError {
  constructor(field: string | null, reason: string, cause?: unknown) {
    super('CONFLICT', { field, reason, cause });
  }
}

/**
 * An `idempotencyKey` repeated with a different request: another account, another parent, or
 * another thing to run than the call that first used the key (see docs/api.md, "Idempotency").
 * Nothing was written; `recordId` is the record the key belongs to, which stands. Use a new key
 * for a new request.
 */
export class IdempotencyConflictError extends ConflictError {
  constructor(
    /** The kind of record the key made. */
    readonly entity: EntityKind,
    /** The record the key belongs to. */
    readonly recordId: string,
    readonly idempotencyKey: string,
    /** The request field that differs (e.g. `cookId`), with the record's and this request's values. */
    readonly difference: { readonly field: string; readonly stored: string; readonly requested: string },
  ) {
    super(
      'input.idempotencyKey',
      `"${idempotencyKey}" belongs to ${entity} "${recordId}", made with ${difference.field} ${difference.stored}; ` +
        `this call asks for ${difference.field} ${difference.requested}. A key names one request: use a new key for a new request`,
    );
  }
}

/**
 * The store failed (network, timeout, server error). The write may or may not have landed: retry
 * the same call (with the same `idempotencyKey` for creations); a retry never counts anything twice.
 * `cause` is the driver's error.
 */
export class RepositoryError extends GenledgerError {
  constructor(
    readonly repository: string,
    readonly operation: string,
    cause: unknown,
    /** Replaces the default reason, `<operation> failed: <the cause's message>`. */
    reason?: string,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('REPOSITORY_FAILURE', { reason: reason ?? `${operation} failed: ${detail}`, cause }, `[genledger] [${repository}]`);
  }
}

/** The change a delayed read is for: a record, the version the feed announced, where it sits in the feed. */
export interface DelayedChange {
  /** A record's kind, or `account` (its id the account id). */
  readonly kind: EntityKind | 'account';
  readonly id: string;
  readonly version: number;
  readonly position: string;
}

/**
 * `tracker.watch()` has not been able to read a changed record for a while (its store is failing):
 * the change is late, not lost. The watch keeps reading it (back-off doubling from 50 ms up to
 * 2 s) until it succeeds or the watch is closed, and `watch.position` stays before it meanwhile.
 * Reported to the watch's `onError` once per spell of failing reads; `operation` is the read
 * (`generations.get`, ...), `cause` the last failed read's error from the driver.
 */
export class WatchReadDelayedError extends RepositoryError {
  constructor(
    repository: string,
    operation: string,
    /** The first change found waiting; others may be waiting too. */
    readonly change: DelayedChange,
    /** Reads of it that failed so far. */
    readonly attempts: number,
    /** Since the first failed read, in ms. */
    readonly delayedMs: number,
    cause: unknown,
  ) {
    const detail = cause instanceof GenledgerError ? cause.reason : cause instanceof Error ? cause.message : String(cause);
    super(
      repository,
      operation,
      cause,
      `watch() cannot read ${change.kind} "${change.id}" (version ${change.version}) yet: ${attempts} reads failed over ${delayedMs} ms (${detail}). ` +
        `The change is delayed, not lost: the watch keeps reading it (every 2 s at most) until it can, and its position stays before it`,
    );
  }
}

/**
 * The account cannot cover the request: a hold (`recordGeneration({ hold })`) or a debit asks for
 * more than `available` in `unit`. Nothing was written (no generation, no entry). Credit the
 * account, or ask for less.
 */
export class InsufficientFundsError extends GenledgerError {
  constructor(
    /** The account asked. */
    readonly account: string,
    /** The unit that is short. */
    readonly unit: 'points' | 'costUsd',
    /** What the call asked for. */
    readonly requested: AccountAmount,
    /** What the account had available when asked. */
    readonly available: AccountAmount,
    field: string,
  ) {
    super('INSUFFICIENT_FUNDS', {
      field,
      reason: `account "${account}" has ${unit === 'points' ? `${available.points} points` : `$${available.costUsd}`} available; this call asks for ${
        unit === 'points' ? `${requested.points} points` : `$${requested.costUsd}`
      }`,
    });
  }
}

/**
 * A child was refused because its parent's budget (`startCast({ budget })` / `startCook({ budget
 * })`) could not take it: its hold would take the parent's `spent + held` past the limit in `unit`,
 * or it brought no hold in a unit the budget limits (`held: false`). Nothing was written.
 */
export class BudgetExceededError extends GenledgerError {
  constructor(
    readonly parentKind: 'cast' | 'cook',
    readonly parentId: string,
    readonly unit: 'points' | 'costUsd',
    /** The budget as it stood: its limit, what its children hold and spent. */
    readonly budget: Budget,
    /** What the child's hold asked for. */
    readonly requested: AccountAmount,
    /** Whether the child brought a hold in `unit` at all. */
    readonly held: boolean,
    field: string,
  ) {
    const limit = unit === 'points' ? `${budget.limit.points ?? 0} points` : `$${budget.limit.costUsd ?? '0'}`;
    const used = unit === 'points' ? `${budget.spent.points} spent + ${budget.held.points} held` : `$${budget.spent.costUsd} spent + $${budget.held.costUsd} held`;
    super('BUDGET_EXCEEDED', {
      field,
      reason: held
        ? `${parentKind} "${parentId}" has a budget of ${limit} (${used}); this child's hold of ${unit === 'points' ? `${requested.points} points` : `$${requested.costUsd}`} would pass it`
        : `${parentKind} "${parentId}" has a budget in ${unit}: a child must bring a hold naming ${unit} (recordGeneration({ hold }))`,
    });
  }
}

/**
 * The store cannot do what was asked: an account call (credit, a hold, a budget, ...) on a store
 * whose `capabilities.accounts` is `false`. Nothing was written. `repository` names the store.
 */
export class UnsupportedError extends GenledgerError {
  constructor(
    readonly repository: string,
    readonly operation: string,
    reason?: string,
  ) {
    super(
      'UNSUPPORTED',
      { reason: reason ?? `the ${repository} store does not support accounts yet (capabilities.accounts is false): ${operation} is not available` },
      `[genledger] [${repository}]`,
    );
  }
}

export function isGenledgerError(error: unknown): error is GenledgerError {
  return error instanceof GenledgerError;
}

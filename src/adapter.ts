/**
 * genledger/adapter: the kit for writing a store (a repository adapter) against the published
 * package, as the stores in this repository are written.
 *
 * A store implements {@link LedgerRepository}. It does not decide what a write means: the pure
 * functions exported here do. Each port operation is one of them applied atomically to the stored
 * records (under the store's own lock, transaction or conditional update):
 *
 * - creation (`insertAttached`): {@link createAttached} over the child and its parents;
 * - completion (`settleGeneration`): {@link settle} (the generation, its cast, its cook);
 * - a cast's end (`casts.transition`): {@link endCast}; `cooks.transition`: {@link transitionCook};
 * - reconcile's replacement: {@link recomputeCast} / {@link recomputeCook} over a
 *   {@link ChildrenSummary} added up with {@link GenerationTally} and {@link CastPieceTally}, then
 *   {@link replaceCastAggregates} / {@link replaceCookAggregates};
 * - the generation's own writes: {@link startGeneration}, {@link recordGenerationProgress},
 *   {@link recordGenerationDelivery} ({@link finishGeneration} is inside `settle`).
 *
 * A store that cannot run JavaScript inside its atomic step (SQL, an update pipeline) writes the
 * same rules in its own language; the reducers ({@link attachToCast}, {@link applyToCook}, ...),
 * the contribution builders and the status rules ({@link pieceCounterFor}, ...) are then the
 * specification it mirrors. Either way the shared suite (`genledger/conformance`,
 * `runRepositoryConformance`) checks that a store leaves exactly what these functions leave.
 *
 * Records, their schemas, status words, errors (`ConflictError`, `ValidationError`, ...), money
 * (`toUsdAmount`, `USD_FRACTION_DIGITS`) and the logger (`consoleLogger`) come from `genledger`
 * itself: one copy of each class, so an error a store throws is `instanceof` the class a host
 * imports. See docs/writing-an-adapter.md.
 *
 * ```ts
 * import { ConflictError, type Generation } from 'genledger';
 * import { settle, type LedgerRepository, type Settlement } from 'genledger/adapter';
 * ```
 *
 * @module
 */

// The port: what a store implements.
export type {
  LedgerRepository,
  GenerationStore,
  ParentStore,
  RepositoryCapabilities,
  Insertion,
  InsertAttached,
  GenerationQuery,
  StaleQuery,
  MaintenanceQuery,
  SummaryOptions,
  IdGenerator,
  ParentRef,
  OpenChildren,
  ChangeFeed,
  ChangeFeedOptions,
  ChangeNotice,
  ChangeKind,
  ChangeSubscription,
  AttachResult,
  AttachOutcome,
  WriteResult,
  ParentTransition,
  ChildrenSummary,
  ChildAttachment,
  ChildContribution,
  GenerationContribution,
  CastPieceContribution,
  ParentCaps,
  DeliveryReport,
  GenerationOutcome,
  ProgressReport,
  Settlement,
  CastEnding,
  CostCorrection,
  CostAdjustmentResult,
  AdjustmentCall,
  NewAttachedChild,
  AttachedInsertion,
} from './port.js';
export type { Logger } from './tracker/context.js';

// Accounts: the port's account store and what holds and budgets add to creation and settlement.
export type {
  AccountStore,
  AccountedSettlement,
  AccountReconciliation,
  HeldCreation,
  BudgetRef,
  CreationAccounting,
  HoldDecision,
  HoldSettlement,
  LedgerEntryQuery,
  LimitedInsertion,
  MovementRequest,
  MovementResult,
  ParentHeldCreation,
  ReleasedReservations,
  ParentHoldDecision,
} from './account-port.js';
export { unsupportedAccountStore } from './account-port.js';

// Stored price tables (`capabilities.prices`): revisions appended, never rewritten.
export type { PriceTableStore, StoredPriceTable } from './price-port.js';
export { storablePriceTable, reviveStoredPriceTable } from './domain/pricing.js';
export { holdAtCreation } from './domain/accounts/creation.js';
export { settleGenerationHold } from './domain/accounts/settlement.js';
export { applyMovement, appendEntry, emptyAccount, replayEntries, reconcileFigures, takeHold, settleHold, coverageOf } from './domain/accounts/ledger.js';
export type { Shortfall, Charge, HoldSettled, HoldTaken, AppendedEntry } from './domain/accounts/ledger.js';
export { newBudget, holdInBudget, settleInBudget } from './domain/accounts/budget.js';
export type { BudgetRefusal } from './domain/accounts/budget.js';
export { parentHoldAtCreation, parentHoldBudget, releaseReservation, drawingBudget, drawFromReservation, parentCause, returnDraw, settleInReservation, unitsBeyond } from './domain/accounts/parent-hold.js';
export type { ParentRelease, Draw, ReservationSettlement } from './domain/accounts/parent-hold.js';
export { reserve } from './domain/accounts/ledger.js';
export type { ReservationPool } from './domain/accounts/ledger.js';

// The composites: one port operation each.
export { createAttached, creationCookId } from './domain/rollup/creation.js';
export type { Creation, CreationParents } from './domain/rollup/creation.js';
export { settle, finishedNow } from './domain/rollup/settlement.js';
export { adjust, adjustGenerationCost, adjustmentGateOpen, applyCostDelta } from './domain/rollup/adjustment.js';
export { endCast, endsCastPiece, replaceCastAggregates, replaceCookAggregates } from './domain/rollup/cast-ending.js';

// The reducers: one record, one write.
export { startGeneration, recordGenerationProgress, finishGeneration, recordGenerationDelivery } from './domain/generation-reducer.js';
export { attachToCast, applyToCast, transitionCast } from './domain/rollup/cast-reducer.js';
export { attachToCook, applyToCook, transitionCook } from './domain/rollup/cook-reducer.js';
export { generationContribution, castPieceContribution } from './domain/rollup/contribution.js';
export { unchanged, changedFrom } from './domain/rollup/write-result.js';

// The status rules a store mirrors when it writes the reducers in its own language.
export { castStatusAfterStep, pieceCounterFor, cookReachedSupply, cookIsOpen, cookStatusOnFinish } from './domain/rollup/rules.js';
export type { PieceCounter } from './domain/rollup/rules.js';

// Reconcile: the children added up, the parent recomputed from them.
export { GenerationTally, CastPieceTally } from './domain/rollup/tally.js';
export { recomputeCast, recomputeCook } from './domain/rollup/recompute.js';
export type { FinishedFigures, RecomputeContext } from './domain/rollup/recompute.js';

// Helpers for stored values: exact money as integers of 10^-18 dollars, text a store can hold, durations.
export { formatUsdUnits, parseSignedUsdUnits } from './domain/money.js';
export { readStoredCostProvenance } from './domain/pricing.js';
export { unstorableTextReason } from './domain/text.js';
export { elapsedMs } from './domain/duration.js';

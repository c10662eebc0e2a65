/**
 * genledger: the books of AI generation work.
 *
 * ```ts
 * import { createTracker } from 'genledger';
 * import { memoryRepository } from 'genledger/memory';
 * const tracker = createTracker({ repository: memoryRepository() });
 * ```
 *
 * @module
 */
export { createTracker } from './tracker/create-tracker.js';
export type {
  Tracker,
  TrackerOptions,
  TrackerLimits,
  ListGenerationsPage,
  SweepStaleOptions,
  ReconcileOptions,
} from './tracker/create-tracker.js';
export type { Clock } from './tracker/clock.js';
export { systemClock } from './tracker/clock.js';
export type { Logger } from './tracker/context.js';
export { consoleLogger, silentLogger } from './tracker/logger.js';
export { objectIdGenerator } from './tracker/ids.js';
export type {
  TrackerEvents,
  TrackerEventName,
  TrackerListener,
  ListenerErrorHandler,
  GenerationUpdateEvent,
  GenerationProgressEvent,
  GenerationFinishedEvent,
  CastUpdateEvent,
  CastFinishedEvent,
  CookUpdateEvent,
  CookFinishedEvent,
  ParentChange,
} from './tracker/events.js';
export type { SweepReport, ReconcileReport } from './tracker/maintenance.js';
export type { Watch, WatchFilter, WatchOptions, WatchedEvent } from './tracker/watch.js';
export type { CostExplanation, RepriceInput, RepriceReport, RepriceDifference, ParentDifference, AccountDifference, RepriceProgress } from './tracker/pricing.js';
export { repriceInputSchema } from './tracker/pricing.js';
export type { PricesState } from './tracker/stored-prices.js';

// Pricing: usage, dated price tables, cost provenance. See docs/pricing.md.
export {
  priceUsage,
  priceTableSchema,
  usageSchema,
  costProvenanceSchema,
  costSourceOf,
  COST_SOURCES,
} from './domain/pricing.js';
export type {
  PriceTable,
  PriceTableInput,
  PriceEntry,
  PriceVersion,
  UnitPrice,
  Usage,
  PricedUsage,
  PriceLine,
  PriceBand,
  CostBasis,
  CostSource,
  CostProvenance,
  CostAdjustment,
} from './domain/pricing.js';

// Records: schemas and the types inferred from them.
export {
  generationSchema,
  castSchema,
  cookSchema,
  outcomeCountsSchema,
  generationStatusSchema,
  terminalGenerationStatusSchema,
  deliveryStatusSchema,
  castStatusSchema,
  cookStatusSchema,
} from './domain/records.js';
export type { Generation, Cast, Cook, OutcomeCounts, ParentKind, EntityKind } from './domain/records.js';

// Inputs: schemas and types.
export {
  recordGenerationInputSchema,
  completeGenerationInputSchema,
  progressInputSchema,
  deliveryInputSchema,
  startCastInputSchema,
  startCookInputSchema,
  listGenerationsInputSchema,
  sweepInputSchema,
  reconcileInputSchema,
  reconcileOptionsSchema,
} from './domain/inputs.js';
export type {
  RecordGenerationInput,
  CompleteGenerationInput,
  ProgressInput,
  DeliveryInput,
  StartCastInput,
  StartCookInput,
  ListGenerationsInput,
  SweepInput,
  ReconcileInput,
} from './domain/inputs.js';

// Vocabularies: the canonical words only (legacy MongoDB words are read by genledger/mongo/legacy).
export {
  GENERATION_STATUSES,
  TERMINAL_GENERATION_STATUSES,
  DELIVERY_STATUSES,
  CAST_STATUSES,
  COOK_STATUSES,
  isTerminalGenerationStatus,
  isTerminalParentStatus,
  canTransitionGeneration,
} from './domain/status.js';
export type {
  GenerationStatus,
  TerminalGenerationStatus,
  DeliveryStatus,
  DeliveryOutcome,
  CastStatus,
  CookStatus,
  TerminalParentStatus,
} from './domain/status.js';

// Money, progress, messages.
export { toUsdAmount, addUsd, sumUsd, compareUsd, usdToNumber, USD_FRACTION_DIGITS, MAX_SINGLE_COST_USD } from './domain/money.js';
export type { UsdAmount } from './domain/money.js';
export { castProgress, cookProgress } from './domain/progress.js';
export type { CastProgress, CookProgress } from './domain/progress.js';
export { toGenerationProgressMessage, toGenerationUpdateMessage } from './domain/messages.js';
export type { GenerationProgressMessage, GenerationUpdateMessage } from './domain/messages.js';
export { LIMITS } from './domain/limits.js';
export type { JsonValue, JsonObject, JsonPrimitive } from './domain/json.js';

// Errors.
export {
  GenledgerError,
  ValidationError,
  NotFoundError,
  IllegalTransitionError,
  ConflictError,
  IdempotencyConflictError,
  RepositoryError,
  WatchReadDelayedError,
  isGenledgerError,
  InsufficientFundsError,
  BudgetExceededError,
  UnsupportedError,
} from './errors.js';
export type { DelayedChange, GenledgerErrorCode, ValidationIssue } from './errors.js';

// The repository port, for adapter authors. See docs/writing-an-adapter.md.
export type { PriceTableStore, StoredPriceTable } from './price-port.js';
export type {
  LedgerRepository,
  GenerationStore,
  ParentStore,
  RepositoryCapabilities,
  Insertion,
  GenerationQuery,
  StaleQuery,
  MaintenanceQuery,
  SummaryOptions,
  IdGenerator,
  AttachResult,
  WriteResult,
  ParentTransition,
  ChildrenSummary,
  ChildAttachment,
  ChildContribution,
  GenerationContribution,
  CastPieceContribution,
  DeliveryReport,
  GenerationOutcome,
  ProgressReport,
  ChangeFeed,
  ChangeFeedOptions,
  ChangeNotice,
  ChangeKind,
  ChangeSubscription,
  Settlement,
  CastEnding,
  ParentRef,
  OpenChildren,
  NewAttachedChild,
  AttachedInsertion,
  InsertAttached,
  AttachOutcome,
  CostCorrection,
  CostAdjustmentResult,
} from './port.js';

// Accounts, holds and budgets (issue 13). See docs/concepts.md, "Accounts and holds".
export type { Account, LedgerEntry, LedgerEntryKind, EntryCause, Budget, Hold } from './domain/accounts/records.js';
export { accountSchema, ledgerEntrySchema, budgetSchema, LEDGER_ENTRY_KINDS } from './domain/accounts/records.js';
export type { AccountAmount, Units } from './domain/accounts/amounts.js';
export { movementInputSchema, holdInputSchema, budgetInputSchema, listLedgerEntriesInputSchema } from './domain/accounts/inputs.js';
export type { MovementInput, HoldInput, BudgetInput, ListLedgerEntriesInput } from './domain/accounts/inputs.js';
export type { AccountMovement, LedgerEntryPage, AccountReconcileReport } from './tracker/accounts.js';
export type { AccountUpdateEvent } from './tracker/events.js';

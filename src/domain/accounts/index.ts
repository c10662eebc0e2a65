/** Accounts, holds and budgets: the pure part. See docs/concepts.md, "Accounts and holds". */
export * from './amounts.js';
export * from './records.js';
export * from './ledger.js';
export * from './budget.js';
export * from './creation.js';
export * from './settlement.js';
export * from './parent-hold.js';
export * from './inputs.js';

/**
 * genledger/conformance: the shared suite every repository adapter must pass, run once per
 * adapter (`runRepositoryConformance`), with its parts exported by name for adapters that want to
 * run them separately. It needs vitest (an optional peer dependency of genledger).
 *
 * ```ts
 * import { runRepositoryConformance } from 'genledger/conformance';
 * runRepositoryConformance({ name: 'my-store', create: () => myRepository(client), reset, inspect });
 * ```
 *
 * @module
 */
import { describe } from 'vitest';
import { accountTests } from './part-accounts.js';
import { parentHoldTests } from './part-parent-holds.js';
import { changeFeedTests } from './part-change-feed.js';
import { concurrencyTests } from './part-concurrency.js';
import { crashTests } from './part-crash.js';
import { eventTests } from './part-events.js';
import { idempotencyTests } from './part-idempotency.js';
import { lifecycleTests } from './part-lifecycle.js';
import { hostileInputTests } from './part-hostile-input.js';
import { maintenanceTests } from './part-maintenance.js';
import { outOfOrderTests } from './part-out-of-order.js';
import { portTests } from './part-port.js';
import { propertyTests } from './part-property.js';
import { rollupTests } from './part-rollup.js';
import { scaleTests } from './part-scale.js';
import { pricingTests } from './part-pricing.js';
import { repricingTests } from './part-repricing.js';
import { storedPricesTests } from './part-stored-prices.js';
import { validationTests } from './part-validation.js';
import { CONFORMANCE_PARTS, type ConformancePart, type ConformanceTarget } from './types.js';

export type { ConformanceTarget, ConformancePart, StoreInspector } from './types.js';
export { CONFORMANCE_PARTS } from './types.js';
export { auditLedger, auditCast, auditCook } from './ledger-audit.js';

/** Each part of the suite, by name. */
export const conformanceParts: Readonly<Record<ConformancePart, (target: ConformanceTarget) => void>> = {
  port: portTests,
  lifecycle: lifecycleTests,
  rollup: rollupTests,
  idempotency: idempotencyTests,
  validation: validationTests,
  events: eventTests,
  maintenance: maintenanceTests,
  property: propertyTests,
  concurrency: concurrencyTests,
  crash: crashTests,
  outOfOrder: outOfOrderTests,
  hostileInput: hostileInputTests,
  changeFeed: changeFeedTests,
  scale: scaleTests,
  pricing: pricingTests,
  repricing: repricingTests,
  storedPrices: storedPricesTests,
  accounts: accountTests,
  parentHolds: parentHoldTests,
};

export {
  portTests,
  lifecycleTests,
  rollupTests,
  idempotencyTests,
  validationTests,
  eventTests,
  maintenanceTests,
  propertyTests,
  concurrencyTests,
  crashTests,
  outOfOrderTests,
  hostileInputTests,
  changeFeedTests,
  scaleTests,
  pricingTests,
  repricingTests,
  storedPricesTests,
  accountTests,
  parentHoldTests,
};

/** Runs every part against one adapter. Skipped parts print their reason in the test output. */
export function runRepositoryConformance(target: ConformanceTarget): void {
  describe(`genledger conformance: ${target.name}`, () => {
    for (const part of CONFORMANCE_PARTS) {
      const reason = target.skip?.[part];
      // A skipped part still shows in the output, with the reason (a capability the store lacks).
      const title = reason === undefined ? part : `${part} (skipped for ${target.name}: ${reason})`;
      describe.skipIf(reason !== undefined)(title, () => conformanceParts[part](target));
    }
  });
}

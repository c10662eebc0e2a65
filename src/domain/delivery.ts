/**
 * Delivery defaults and rules. The system this replaces mixed "nobody to notify" with "notifying
 * failed"; here `skipped` means the former and is set at creation, `dropped` means the latter.
 */
import type { DeliveryOutcome, DeliveryStatus } from './status.js';

/** The platform word meaning "nobody to notify". */
export const NO_NOTIFICATION_PLATFORM = 'none';

export function initialDeliveryStatus(notificationPlatform: string | null | undefined): DeliveryStatus {
  return !notificationPlatform || notificationPlatform === NO_NOTIFICATION_PLATFORM ? 'skipped' : 'pending';
}

/** Whether a delivery outcome may be recorded on a generation now. */
export type DeliveryCheck = { readonly allowed: true } | { readonly allowed: false; readonly repeat: boolean; readonly reason: string };

export function checkDelivery(
  generation: { status: string; deliveryStatus: DeliveryStatus; notificationPlatform: string },
  outcome: DeliveryOutcome,
): DeliveryCheck {
  if (generation.status === 'pending' || generation.status === 'processing') {
    return { allowed: false, repeat: false, reason: 'the generation has not finished, so there is nothing to deliver yet' };
  }
  if (generation.deliveryStatus === 'skipped') {
    return { allowed: false, repeat: false, reason: `notificationPlatform is "${generation.notificationPlatform}": nobody to notify` };
  }
  if (generation.deliveryStatus === outcome) {
    return { allowed: false, repeat: true, reason: `delivery was already recorded as "${outcome}"` };
  }
  if (generation.deliveryStatus !== 'pending') {
    return { allowed: false, repeat: false, reason: `delivery was already recorded as "${generation.deliveryStatus}"` };
  }
  return { allowed: true };
}

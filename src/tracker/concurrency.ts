/**
 * Runs `task` over `items` with at most `limit` in flight. Used where the tracker fans out over a
 * parent's children (cancelling, repairing): every write is atomic on its own, so order does not
 * matter, and a bounded fan-out keeps a cook with thousands of children from flooding the store.
 */
/** How many of a parent's children the tracker works on at once (cancelling, sweeping, repairing). */
export const FAN_OUT = 8;

export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  async function worker(): Promise<void> {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (error) {
        errors.push(error);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  // Every item was tried; the first failure is reported so a retry can finish the rest.
  if (errors.length > 0) throw errors[0];
}

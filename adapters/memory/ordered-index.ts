/**
 * A secondary index whose ids are kept in the store's listing order, (requestTimestamp, id): the
 * generations of each tool, for `generations.list({ toolId, after, limit })` (re-pricing pages
 * through a tool's generations). A page is a binary search to `after`, then at most as many steps
 * as the page reads: paging a tool is O(page), not a filter and a sort of all its generations per
 * page. Keys and instants are fixed when a record is created; generations arrive mostly in time
 * order, so adding is usually an append (else an insertion at its place).
 */
interface Position {
  readonly at: number;
  readonly id: string;
}

const before = (left: Position, right: Position) => left.at < right.at || (left.at === right.at && left.id < right.id);

export class OrderedIndex {
  private readonly lists = new Map<string, Position[]>();

  add(key: string, at: number, id: string): void {
    let list = this.lists.get(key);
    if (list === undefined) this.lists.set(key, (list = []));
    const position = { at, id };
    const last = list[list.length - 1];
    if (last === undefined || before(last, position)) list.push(position);
    else list.splice(this.firstAfter(list, position), 0, position);
  }

  /** The index of the first position after `after` (`inclusive`: at or after it). */
  private firstAfter(list: readonly Position[], after: Position, strictly = true): number {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const entry = list[middle]!;
      const passed = strictly ? before(after, entry) : !before(entry, after);
      if (passed) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /**
   * The key's ids in order from just past `after` (excluded; `null`: from the start), ascending or
   * descending, while `take(id)` returns true (it says whether to go on).
   */
  walk(key: string, order: 'asc' | 'desc', after: Position | null, take: (id: string) => boolean): void {
    const list = this.lists.get(key);
    if (list === undefined) return;
    if (order === 'asc') {
      for (let index = after === null ? 0 : this.firstAfter(list, after); index < list.length; index += 1) if (!take(list[index]!.id)) return;
    } else {
      // Descending: the positions strictly before `after`, latest first.
      for (let index = (after === null ? list.length : this.firstAfter(list, after, false)) - 1; index >= 0; index -= 1) if (!take(list[index]!.id)) return;
    }
  }

  clear(): void {
    this.lists.clear();
  }
}

/**
 * A secondary index: one key to many record ids (generations by cast, by cook, by account; open
 * children by parent). Adding and deleting are O(1); a key's ids iterate in the order they were
 * added.
 */
export class MultiIndex {
  private readonly sets = new Map<string, Set<string>>();

  add(key: string, id: string): void {
    let set = this.sets.get(key);
    if (!set) {
      set = new Set();
      this.sets.set(key, set);
    }
    set.add(id);
  }

  delete(key: string, id: string): void {
    const set = this.sets.get(key);
    if (set === undefined) return;
    set.delete(id);
    if (set.size === 0) this.sets.delete(key);
  }

  get(key: string): ReadonlySet<string> | undefined {
    return this.sets.get(key);
  }

  /** At most `limit` of the key's ids, oldest added first. */
  first(key: string, limit: number): string[] {
    const ids: string[] = [];
    const set = this.sets.get(key);
    if (set === undefined) return ids;
    for (const id of set) {
      if (ids.length >= limit) break;
      ids.push(id);
    }
    return ids;
  }

  clear(): void {
    this.sets.clear();
  }
}

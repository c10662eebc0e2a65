/** A secondary index: one key to many record ids (generations by cast, by cook, by account). */
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

  get(key: string): ReadonlySet<string> | undefined {
    return this.sets.get(key);
  }

  clear(): void {
    this.sets.clear();
  }
}

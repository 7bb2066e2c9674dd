import { inspect } from "node:util";

/**
 * A map that keeps about the `limit` most recently used entries, at most 2 × `limit`: entries go
 * into a newer half; when it is full it becomes the older half and the previous older half is
 * dropped; a hit in the older half moves the entry forward. A hit is one Map lookup, with none of
 * a strict LRU's reordering (which cost as much as the lookup it saves). Its entries may be opened
 * metadata (claims can hold secrets): inspecting or serialising it shows only its size.
 */
export class RecentCache<V> {
  private newer = new Map<string, V>();
  private older = new Map<string, V>();

  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    const hit = this.newer.get(key);
    if (hit !== undefined) return hit;
    const old = this.older.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  set(key: string, value: V): void {
    if (this.newer.size >= this.limit) {
      this.older = this.newer;
      this.newer = new Map();
    }
    this.newer.set(key, value);
  }

  get size(): number {
    return this.newer.size + this.older.size;
  }

  [inspect.custom](): string {
    return `RecentCache(${this.size} entries, hidden)`;
  }

  toJSON(): string {
    return this[inspect.custom]();
  }
}

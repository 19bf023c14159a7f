/**
 * A small LRU map bounded by total weight (entries, or tokens for the tokeniser cache).
 * A Map keeps insertion order, so re-inserting on read makes the first key the least recently used.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, { value: V; weight: number }>();
  private total = 0;

  constructor(
    private readonly maxWeight: number,
    private readonly weigh: (value: V, key: K) => number = () => 1,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const hit = this.map.get(key);
    if (hit === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.value;
  }

  /** Like get, without refreshing recency: for read-only look-ups (count_tokens must not warm the cache). */
  peek(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  set(key: K, value: V): void {
    const weight = this.weigh(value, key);
    if (weight > this.maxWeight) return; // would evict everything else; not worth keeping
    const old = this.map.get(key);
    if (old !== undefined) {
      this.total -= old.weight;
      this.map.delete(key);
    }
    this.map.set(key, { value, weight });
    this.total += weight;
    while (this.total > this.maxWeight) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      const entry = this.map.get(oldest.value);
      this.map.delete(oldest.value);
      if (entry !== undefined) this.total -= entry.weight;
    }
  }

  delete(key: K): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.total -= old.weight;
    this.map.delete(key);
  }
}

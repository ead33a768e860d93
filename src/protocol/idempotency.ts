/**
 * Remembers the final answer given to each request id so that a retried id gets the same
 * answer and is never applied twice. Bounded (oldest ids forgotten first): the guest's ids
 * carry a per-start prefix and a sequence, so an id older than the last few hundred is
 * never retried. `busy` answers are not final and are never stored: a retry after busy is
 * decided afresh.
 */
export class IdempotencyCache<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly capacity = 256) {}

  get(id: string): V | undefined {
    return this.map.get(id);
  }

  set(id: string, value: V): void {
    this.map.delete(id);
    this.map.set(id, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }

  get size(): number {
    return this.map.size;
  }
}

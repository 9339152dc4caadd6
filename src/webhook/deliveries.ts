/** Delivery ids seen lately, the oldest forgotten first: a redelivery is recognised, memory stays bounded. */
export class SeenDeliveries {
  private readonly seen = new Set<string>();

  constructor(private readonly max = 1000) {}

  /** True when the id was seen before; otherwise remembers it. */
  check(id: string): boolean {
    if (this.seen.has(id)) return true;
    this.seen.add(id);
    if (this.seen.size > this.max) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return false;
  }

  get size(): number {
    return this.seen.size;
  }
}

import type { EventRef } from '../store.js';

/**
 * Events wait here until the stream's watermark passes their start, then leave in start order. The store hands
 * events over in the order requests ENDED (a ten-minute stream arrives after the quick requests that started
 * during it); detectors want them in the order they STARTED. Pure, no I/O.
 *
 * An event also stays for at least one tick after it arrived (`tick` < the releasing tick), so the fingerprint the
 * gateway writes beside it has been written when the event is released, even for an event that arrives late.
 *
 * Only the id and start are held (the events are read again when released): five minutes of a gateway at thousands
 * of requests a second is hundreds of thousands of events, a gigabyte as objects, 20 MB as references.
 */
export class ReorderBuffer {
  private items: { event: EventRef; tick: number }[] = [];

  constructor(private readonly maxItems = 200_000) {}

  get size(): number {
    return this.items.length;
  }

  /** The earliest start held, or +∞ when empty: the stream's clock may not pass it. */
  earliest(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const item of this.items) if (item.event.startedAt < min) min = item.event.startedAt;
    return min;
  }

  add(event: EventRef, tick: number): void {
    this.items.push({ event: { id: event.id, startedAt: event.startedAt }, tick });
  }

  /**
   * Events that started before `watermark` and arrived before tick `tick`, by startedAt then id. Beyond
   * `maxItems` held, the oldest leave early whatever their tick: memory stays bounded under a flood.
   */
  release(watermark: number, tick: number): EventRef[] {
    const out: EventRef[] = [];
    const keep: { event: EventRef; tick: number }[] = [];
    for (const item of this.items) {
      if (item.event.startedAt < watermark && item.tick < tick) out.push(item.event);
      else keep.push(item);
    }
    if (keep.length > this.maxItems) {
      keep.sort((a, b) => byStart(a.event, b.event));
      for (const item of keep.splice(0, keep.length - this.maxItems)) out.push(item.event);
    }
    this.items = keep;
    return out.sort(byStart);
  }
}

export function byStart(a: EventRef, b: EventRef): number {
  return a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

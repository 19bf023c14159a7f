import { describe, expect, it } from 'vitest';
import { event } from '../testing.js';
import { ReorderBuffer } from './reorder.js';

describe('ReorderBuffer', () => {
  it('releases events in start order once the watermark passes them and they waited a tick', () => {
    const b = new ReorderBuffer();
    const long = event({ id: 'long', startedAt: 1_000 });
    const quick = event({ id: 'quick', startedAt: 5_000 });
    const later = event({ id: 'later', startedAt: 9_000 });
    b.add(quick, 1);
    b.add(later, 1);
    b.add(long, 2); // stored after the others: it ended last
    expect(b.earliest()).toBe(1_000);
    // Tick 2: `long` arrived this tick, so it stays (its fingerprint may still be on its way).
    expect(b.release(8_000, 2).map((e) => e.id)).toEqual(['quick']);
    expect(b.release(8_000, 3).map((e) => e.id)).toEqual(['long']);
    expect(b.release(9_000, 3).map((e) => e.id)).toEqual([]);
    expect(b.release(9_001, 3).map((e) => e.id)).toEqual(['later']);
    expect(b.size).toBe(0);
    expect(b.earliest()).toBe(Number.POSITIVE_INFINITY);
  });

  it('lets the oldest go early beyond its bound', () => {
    const b = new ReorderBuffer(2);
    for (const [i, at] of [30, 10, 20, 40].entries()) b.add(event({ id: `e${i}`, startedAt: at }), 5);
    expect(b.release(0, 1).map((e) => e.startedAt)).toEqual([10, 20]);
    expect(b.size).toBe(2);
  });
});

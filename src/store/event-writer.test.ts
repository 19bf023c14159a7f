import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { UsageEvent } from '../usage/event.js';
import { EventWriter } from './event-writer.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { makeTestEvent } from './store-contract.js';
import type { Store } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'goodhart-writer-'));
let n = 0;
const open: { close(): Promise<void> }[] = [];
const newStore = (): SqliteStore => {
  const store = new SqliteStore(join(dir, `w-${++n}.db`));
  open.push(store);
  return store;
};
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real SQLite store whose first `failures` inserts throw, as a locked or unreachable store would. */
function flaky(store: Store, failures: number): Store & { calls: number } {
  let left = failures;
  const wrapper = Object.create(store) as Store & { calls: number };
  wrapper.calls = 0;
  wrapper.insertEvents = async (events: readonly UsageEvent[]) => {
    wrapper.calls += 1;
    if (left > 0) {
      left -= 1;
      throw new Error('SQLITE_BUSY: database is locked');
    }
    return store.insertEvents(events);
  };
  return wrapper;
}

const events = (count: number): UsageEvent[] => Array.from({ length: count }, () => makeTestEvent());

describe('EventWriter', () => {
  it('drain writes every queued event, in batches', async () => {
    const store = newStore();
    const writer = new EventWriter(store, { flushIntervalMs: 60_000 });
    const batch = events(1234);
    for (const e of batch) writer.enqueue(e);
    await writer.close();
    expect((await store.listEvents({})).map((e) => e.id)).toEqual(batch.map((e) => e.id));
    expect(writer.stats()).toEqual({ queued: 0, flushed: 1234, inserted: 1234, failedFlushes: 0, dropped: 0 });
  });

  it('never calls the store from enqueue itself', async () => {
    const store = flaky(newStore(), 0);
    const writer = new EventWriter(store, { flushIntervalMs: 60_000, batchSize: 10 });
    for (const e of events(25)) writer.enqueue(e);
    expect(store.calls).toBe(0);
    await writer.close();
    expect(store.calls).toBe(3);
  });

  it('flushes on the timer without drain', async () => {
    const store = newStore();
    const writer = new EventWriter(store, { flushIntervalMs: 20 });
    for (const e of events(7)) writer.enqueue(e);
    await vi.waitFor(async () => expect(await store.listEvents({})).toHaveLength(7), { timeout: 2_000 });
    expect(writer.stats().flushed).toBe(7);
    await writer.close();
  });

  it('flushes as soon as a full batch is queued, before the timer', async () => {
    const store = newStore();
    const writer = new EventWriter(store, { flushIntervalMs: 60_000, batchSize: 50 });
    for (const e of events(50)) writer.enqueue(e);
    await vi.waitFor(async () => expect(await store.listEvents({})).toHaveLength(50), { timeout: 2_000 });
    await writer.close();
  });

  it('loses nothing when the store fails twice and then succeeds', async () => {
    const real = newStore();
    const store = flaky(real, 2);
    const logs: string[] = [];
    const writer = new EventWriter(store, { flushIntervalMs: 5, batchSize: 100, initialBackoffMs: 10, log: (m) => logs.push(m) });
    const batch = events(250);
    for (const e of batch) writer.enqueue(e);
    await writer.close();
    expect((await real.listEvents({})).map((e) => e.id)).toEqual(batch.map((e) => e.id));
    expect(writer.stats()).toEqual({ queued: 0, flushed: 250, inserted: 250, failedFlushes: 2, dropped: 0 });
    expect(logs[0]).toMatch(/failed \(1 in a row/);
    expect(logs.at(-1)).toMatch(/written again after 2 failed attempts/);
  });

  it('counts a replayed batch as flushed but not inserted', async () => {
    const store = newStore();
    const batch = events(5);
    await store.insertEvents(batch.slice(0, 3));
    const writer = new EventWriter(store, { flushIntervalMs: 60_000 });
    for (const e of batch) writer.enqueue(e);
    await writer.close();
    expect(writer.stats()).toMatchObject({ flushed: 5, inserted: 2 });
  });

  it('drops beyond maxQueued, counts them and logs once', async () => {
    const real = newStore();
    const store = flaky(real, 1_000_000);
    const logs: string[] = [];
    const writer = new EventWriter(store, { flushIntervalMs: 60_000, maxQueued: 10, log: (m) => logs.push(m) });
    for (const e of events(15)) writer.enqueue(e);
    expect(writer.stats()).toMatchObject({ queued: 10, dropped: 5 });
    expect(logs.filter((m) => m.includes('queue full'))).toHaveLength(1);
    await expect(writer.close({ timeoutMs: 50 })).rejects.toThrow(/10 usage events were not written/);
    expect(writer.stats().queued).toBe(10);
  });
});

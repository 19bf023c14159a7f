import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { event } from '../testing.js';
import { FingerprintObserver, createFingerprintObserver } from './observer.js';

const body = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'summarize the failing checks in the billing pipeline and propose a fix' }] };

describe('FingerprintObserver', () => {
  it('queues on the request path and writes in a later batch', async () => {
    const store = new SqliteStore(':memory:');
    const observer = new FingerprintObserver({ store: store.findings, secret: 'observer-test-secret-123456', retentionDays: 30 });
    const e = event({ startedAt: Date.now() });
    observer.observe(body, e);
    // Nothing hashed or written synchronously.
    expect(await store.findings.listFingerprints({ since: 0, until: Date.now() + 1 })).toEqual([]);
    await observer.close();
    const [fp] = await store.findings.listFingerprints({ since: 0, until: Date.now() + 1 });
    expect(fp!.eventId).toBe(e.id);
    expect(fp!.humanTurn).toBe(true);
    await store.close();
  });

  it('drops work beyond its queue bound and purges fingerprints past retention', async () => {
    const store = new SqliteStore(':memory:');
    const now = Date.UTC(2026, 9, 1);
    const observer = new FingerprintObserver({ store: store.findings, secret: 'observer-test-secret-123456', retentionDays: 30, maxQueue: 2, now: () => now });
    for (const at of [now - 40 * 86_400_000, now - 10 * 86_400_000, now]) observer.observe(body, event({ startedAt: at }));
    expect(observer.dropped).toBe(1);
    await observer.close();
    expect(await observer.purge()).toBe(1);
    expect(await store.findings.listFingerprints({ since: 0, until: now + 1 })).toHaveLength(1);
    await store.close();
  });

  it('takes the secret from config, else the store’s own (stable across calls)', async () => {
    const store = new SqliteStore(':memory:');
    const a = await store.findings.fingerprintSecret();
    expect(await store.findings.fingerprintSecret()).toBe(a);
    expect(await createFingerprintObserver(store.findings, { enabled: false, retentionDays: 30 })).toBeNull();
    const o = await createFingerprintObserver(store.findings, { enabled: true, retentionDays: 30 });
    expect(o).toBeInstanceOf(FingerprintObserver);
    await o!.close();
    await store.close();
  });
});

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../store/sqlite/migrations.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { event } from '../testing.js';
import { startHarness } from '../../testing/harness.js';
import { fingerprintOf, fingerprintTurn } from './fingerprint.js';
import { fingerprintKeyFile } from './secret-file.js';
import { deriveKeys } from './keys.js';
import { sip32 } from './siphash.js';
import { fmix32 } from './text.js';
import { forEachWord } from './words.js';

/**
 * What someone who can read the database file (a backup, a copy, read access to the volume) learns of the prompts.
 * The stored prompt signature holds one SipHash per content word, keyed by the secret: with the secret, a dictionary
 * inverts it word by word. So the secret must not be in the database.
 */

const PROMPT = 'incident timeline for the checkout outage on tuesday: list the three main contributing factors';
const FILLER =
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo ' +
  'sierra tango uniform victor whiskey xray yankee zulu deploy build cache retry billing invoice report summary';
const DICTIONARY = [...new Set(`${PROMPT} ${FILLER}`.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean))];


/** The attack: every text value in the database tried as the secret; the words of the dictionary whose hashes appear. */
function recoverWords(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const candidates: string[] = [];
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) {
        for (const v of Object.values(row)) if (typeof v === 'string' && v.length >= 16 && v.length <= 200) candidates.push(v);
      }
    }
    const prompts = (db.prepare('SELECT prompt FROM fingerprints WHERE prompt IS NOT NULL').all() as { prompt: Buffer }[]).map(
      (r) => new Set(new Uint32Array(r.prompt.buffer.slice(r.prompt.byteOffset, r.prompt.byteOffset + r.prompt.length))),
    );
    const found = new Set<string>();
    for (const secret of candidates) {
      const key = deriveKeys(secret).words;
      for (const w of DICTIONARY) if (prompts.some((p) => p.has(fmix32(sip32(key, w) ^ 0x5bd1e995)))) found.add(w);
    }
    return [...found];
  } finally {
    db.close();
  }
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'goodhart-fpriv-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('fingerprint privacy: the database alone', () => {
  it('does not hold the generated secret, so its prompt hashes cannot be inverted with a dictionary', async () => {
    const path = join(tempDir(), 'goodhart.db');
    const store = new SqliteStore(path);
    const secret = await store.findings.fingerprintSecret();
    expect(await store.findings.fingerprintSecret()).toBe(secret);
    const e = event({ startedAt: Date.UTC(2026, 9, 1) });
    await store.findings.insertFingerprints([
      fingerprintOf(fingerprintTurn({ newText: PROMPT }, secret), { eventId: e.id, at: e.startedAt, userId: 'u', sessionId: null }),
    ]);
    await store.close();

    expect(recoverWords(path)).toEqual([]);
    for (const f of [path, `${path}-wal`]) if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(secret))).toBe(false);

    // The secret is a file beside the database, readable by its owner only, and the same when the store is reopened.
    const keyFile = `${path}.fingerprint-key`;
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const again = new SqliteStore(path);
    expect(await again.findings.fingerprintSecret()).toBe(secret);
    await again.close();

    // Control: with the secret (what the database used to hold), the same dictionary recovers the prompt's words.
    const key = deriveKeys(secret).words;
    const [fp] = await (async () => {
      const s = new SqliteStore(path);
      try {
        return await s.findings.listFingerprints({ since: 0, until: Date.UTC(2027, 0, 1) });
      } finally {
        await s.close();
      }
    })();
    const stored = new Set(fp!.prompt!);
    const words: string[] = [];
    forEachWord(PROMPT, (w) => {
      if (stored.has(fmix32(sip32(key, w) ^ 0x5bd1e995))) words.push(w);
    });
    expect(words.length).toBeGreaterThanOrEqual(8);
  });

  it('drops the secret an older release stored in the database, bytes and all', async () => {
    const path = join(tempDir(), 'old.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    for (const sql of MIGRATIONS.slice(0, 14)) old.exec(sql);
    old.pragma('user_version = 14');
    const legacy = 'LEGACY-SECRET-stored-in-the-database-0123456789';
    old.prepare("INSERT INTO detect_secrets (name, value) VALUES ('fingerprint', ?)").run(legacy);
    old.close();

    const store = new SqliteStore(path);
    const secret = await store.findings.fingerprintSecret();
    expect(secret).not.toBe(legacy);
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'detect_secrets'").get()).toEqual({ n: 0 });
    db.close();
    for (const f of [path, `${path}-wal`]) if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(legacy))).toBe(false);
  });

  it('names a PostgreSQL database’s key file by server and database, never by its credentials', () => {
    const a = fingerprintKeyFile({ url: 'postgres://app:hunter2@db.internal:5432/goodhart', searchPath: undefined }, {});
    expect(a).toBe(fingerprintKeyFile({ url: 'postgres://other:pw@db.internal:5432/goodhart', searchPath: undefined }, {}));
    expect(a).not.toContain('hunter2');
    expect(a).not.toBe(fingerprintKeyFile({ url: 'postgres://app:hunter2@db.internal:5432/goodhart', searchPath: 'tenant_a' }, {}));
    expect(fingerprintKeyFile({ url: 'postgres://x@h/db' }, { GOODHART_FINGERPRINT_KEY_FILE: '/etc/goodhart/fp.key' })).toBe('/etc/goodhart/fp.key');
    // The same database spelt another way is the same file; under systemd (StateDirectory=, home hidden) it is there.
    expect(fingerprintKeyFile({ url: 'postgres://x@localhost:5432/db' }, {})).toBe(fingerprintKeyFile({ url: 'postgres://y@127.0.0.1/db' }, {}));
    expect(fingerprintKeyFile({ url: 'postgres://x@h/db' }, { STATE_DIRECTORY: '/var/lib/goodhart' })).toMatch(/^\/var\/lib\/goodhart\/fingerprint-[0-9a-f]{16}\.key$/);
  });

  it('serves without fingerprints, saying why, when the key file cannot be read or created', async () => {
    // A key file this process may not read (here: a folder where the file should be).
    const h = await startHarness({ beforeOpen: (db) => mkdirSync(`${db}.fingerprint-key`) });
    try {
      const res = await fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
    } finally {
      await h.close();
    }
  });
});

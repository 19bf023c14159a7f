import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { makeTestEvent } from '../../store/store-contract.js';
import type { UsageEvent } from '../../usage/event.js';
import { formatEventsTable, registerEvents, runEvents } from './events.js';
import { registerReport, runReport, shortenId } from './report.js';

const at = (iso: string): number => Date.parse(iso);
const dir = mkdtempSync(join(tmpdir(), 'goodhart-cli-'));
const db = join(dir, 'goodhart.db');
const savedTz = process.env['TZ'];

const e1 = makeTestEvent({
  id: 'e1',
  startedAt: at('2025-03-10T09:00:00Z'),
  endedAt: at('2025-03-10T09:00:02Z'),
  userId: 'alice',
  teamId: 'core',
  sessionId: 's1',
  inputTokens: 1000,
  cacheReadTokens: 200,
  cacheWrite5mTokens: 50,
  outputTokens: 300,
  costUsd: 0.0125,
});
const e2 = makeTestEvent({
  id: 'e2',
  source: 'claude-code',
  startedAt: at('2025-03-10T23:30:00Z'),
  endedAt: at('2025-03-10T23:30:05Z'),
  userId: 'bob',
  teamId: 'data',
  sessionId: 's1',
  provider: 'anthropic',
  endpoint: 'messages',
  modelRequested: 'claude-sonnet-4',
  modelServed: 'claude-sonnet-4-20250514',
  inputTokens: 2000,
  cacheReadTokens: 1500,
  cacheWrite1hTokens: 100,
  outputTokens: 500,
  reasoningTokens: 120,
  costUsd: 0.05,
});
const e3 = makeTestEvent({
  id: 'e3',
  startedAt: at('2025-03-11T10:00:00Z'),
  endedAt: at('2025-03-11T10:00:01Z'),
  userId: 'alice',
  teamId: 'core',
  sessionId: 's2',
  modelRequested: 'mystery-1',
  modelServed: 'mystery-1',
  inputTokens: 10,
  outputTokens: 5,
  costUsd: null,
});
const e4 = makeTestEvent({
  id: 'e4',
  startedAt: at('2025-04-02T12:00:00Z'),
  endedAt: at('2025-04-02T12:00:03Z'),
  userId: 'bob',
  teamId: 'data',
  sessionId: null,
  inputTokens: 4000,
  outputTokens: 1000,
  costUsd: 0.2,
  usageEstimated: true,
  status: 502,
  errorClass: 'upstream_5xx',
});
const all: UsageEvent[] = [e1, e2, e3, e4];

beforeAll(async () => {
  process.env['TZ'] = 'UTC';
  const store = new SqliteStore(db);
  await store.insertEvents(all);
  await store.close();
});
afterAll(() => {
  if (savedTz === undefined) delete process.env['TZ'];
  else process.env['TZ'] = savedTz;
  rmSync(dir, { recursive: true, force: true });
});

describe('goodhart report --json (golden)', () => {
  it('daily in UTC', async () => {
    const out = await runReport({ kind: 'daily', json: true, db });
    const expected = {
      report: 'daily',
      timeZone: 'UTC',
      since: null,
      until: null,
      rows: [
        {
          key: '2025-03-10',
          requests: 2,
          inputTokens: 3000,
          cacheReadTokens: 1700,
          cacheWrite5mTokens: 50,
          cacheWrite1hTokens: 100,
          outputTokens: 800,
          reasoningTokens: 120,
          costUsd: 0.0625,
          unpricedRequests: 0,
          estimatedRequests: 0,
          firstAt: at('2025-03-10T09:00:00Z'),
          lastAt: at('2025-03-10T23:30:00Z'),
          models: ['claude-sonnet-4-20250514', 'gpt-4o-2024-08-06'],
        },
        {
          key: '2025-03-11',
          requests: 1,
          inputTokens: 10,
          cacheReadTokens: 0,
          cacheWrite5mTokens: 0,
          cacheWrite1hTokens: 0,
          outputTokens: 5,
          reasoningTokens: 0,
          costUsd: 0,
          unpricedRequests: 1,
          estimatedRequests: 0,
          firstAt: at('2025-03-11T10:00:00Z'),
          lastAt: at('2025-03-11T10:00:00Z'),
          models: ['mystery-1'],
        },
        {
          key: '2025-04-02',
          requests: 1,
          inputTokens: 4000,
          cacheReadTokens: 0,
          cacheWrite5mTokens: 0,
          cacheWrite1hTokens: 0,
          outputTokens: 1000,
          reasoningTokens: 0,
          costUsd: 0.2,
          unpricedRequests: 0,
          estimatedRequests: 1,
          firstAt: at('2025-04-02T12:00:00Z'),
          lastAt: at('2025-04-02T12:00:00Z'),
          models: ['gpt-4o-2024-08-06'],
        },
      ],
      totals: {
        requests: 4,
        inputTokens: 7010,
        cacheReadTokens: 1700,
        cacheWrite5mTokens: 50,
        cacheWrite1hTokens: 100,
        outputTokens: 1805,
        reasoningTokens: 120,
        costUsd: 0.2625,
        unpricedRequests: 1,
        estimatedRequests: 1,
        firstAt: at('2025-03-10T09:00:00Z'),
        lastAt: at('2025-04-02T12:00:00Z'),
        models: ['claude-sonnet-4-20250514', 'gpt-4o-2024-08-06', 'mystery-1'],
      },
    };
    expect(out).toBe(JSON.stringify(expected, null, 2));
  });

  it('does not depend on the machine time zone', async () => {
    const utc = await runReport({ kind: 'daily', json: true, db });
    process.env['TZ'] = 'Pacific/Auckland';
    try {
      expect(await runReport({ kind: 'daily', json: true, db })).toBe(utc);
    } finally {
      process.env['TZ'] = 'UTC';
    }
  });

  it("takes its days in the config's timeZone when a config applies and --tz is not given", async () => {
    const file = join(dirname(db), 'berlin.yaml');
    writeFileSync(file, `timeZone: Europe/Berlin\ndb: ${JSON.stringify(db)}\n`);
    const viaConfig = JSON.parse(await runReport({ kind: 'daily', json: true, config: file })) as { timeZone: string; rows: unknown[] };
    const viaTz = JSON.parse(await runReport({ kind: 'daily', json: true, db, tz: 'Europe/Berlin' })) as { timeZone: string; rows: unknown[] };
    expect(viaConfig.timeZone).toBe('Europe/Berlin');
    expect(viaConfig.rows).toEqual(viaTz.rows);
    expect(JSON.parse(await runReport({ kind: 'daily', json: true, config: file, tz: 'UTC' })).timeZone).toBe('UTC');
  });

  it('daily in Europe/Berlin moves 23:30 UTC to the next day', async () => {
    const out = JSON.parse(await runReport({ kind: 'daily', json: true, db, tz: 'Europe/Berlin' })) as {
      rows: { key: string; requests: number; costUsd: number; unpricedRequests: number }[];
    };
    expect(out.rows.map((r) => [r.key, r.requests, r.costUsd, r.unpricedRequests])).toEqual([
      ['2025-03-10', 1, 0.0125, 0],
      ['2025-03-11', 2, 0.05, 1],
      ['2025-04-02', 1, 0.2, 0],
    ]);
  });

  it('monthly and session', async () => {
    const monthly = JSON.parse(await runReport({ kind: 'monthly', json: true, db })) as { rows: { key: string; requests: number; costUsd: number }[] };
    expect(monthly.rows.map((r) => [r.key, r.requests, r.costUsd])).toEqual([
      ['2025-03', 3, 0.0625],
      ['2025-04', 1, 0.2],
    ]);
    const session = JSON.parse(await runReport({ kind: 'session', json: true, db })) as { rows: { key: string; requests: number; costUsd: number }[] };
    expect(session.rows.map((r) => [r.key, r.requests, r.costUsd])).toEqual([
      ['(none)', 1, 0.2],
      ['s1', 2, 0.0625],
      ['s2', 1, 0],
    ]);
  });

  it('applies date and dimension filters; a YYYY-MM-DD --until includes that day', async () => {
    const keys = async (o: Parameters<typeof runReport>[0]): Promise<[string, number][]> =>
      (JSON.parse(await runReport(o)) as { rows: { key: string; requests: number }[] }).rows.map((r) => [r.key, r.requests]);
    expect(await keys({ kind: 'daily', json: true, db, until: '2025-03-10' })).toEqual([['2025-03-10', 2]]);
    expect(await keys({ kind: 'daily', json: true, db, since: '2025-03-11', team: 'core' })).toEqual([['2025-03-11', 1]]);
    expect(await keys({ kind: 'daily', json: true, db, source: 'claude-code' })).toEqual([['2025-03-10', 1]]);
    expect(await keys({ kind: 'monthly', json: true, db, model: 'gpt-4o' })).toEqual([['2025-03', 1], ['2025-04', 1]]);
    expect(await keys({ kind: 'session', json: true, db, user: 'alice', project: 'web' })).toEqual([['s1', 1], ['s2', 1]]);
    const out = JSON.parse(await runReport({ kind: 'daily', json: true, db, since: '2025-03-10T12:00:00Z', until: '2025-03-11' })) as Record<string, unknown>;
    expect([out['since'], out['until']]).toEqual(['2025-03-10T12:00:00.000Z', '2025-03-12T00:00:00.000Z']);
  });
});

describe('goodhart report --team/--user/--project (none)', () => {
  it('selects the events without one, as the tables print them; in events too', async () => {
    const noneDb = join(dir, 'unassigned.db');
    const store = new SqliteStore(noneDb);
    const t = at('2025-03-10T09:00:00Z');
    await store.insertEvents([
      makeTestEvent({ id: 'n1', startedAt: t, userId: 'alice', teamId: 'core', projectId: 'web', costUsd: 0.5 }),
      makeTestEvent({ id: 'n2', startedAt: t + 1, userId: null, teamId: null, projectId: null, costUsd: 0.25 }),
      makeTestEvent({ id: 'n3', startedAt: t + 2, userId: 'bob', teamId: null, projectId: 'web', costUsd: 0.125 }),
    ]);
    await store.close();
    const rows = async (o: Parameters<typeof runReport>[0]) =>
      (JSON.parse(await runReport({ ...o, db: noneDb, json: true })) as { rows: { key: string; requests: number }[] }).rows.map((r) => [r.key, r.requests]);
    expect(await rows({ kind: 'teams' })).toEqual([['core', 1], ['(none)', 2]]);
    expect(await rows({ kind: 'users', team: '(none)' })).toEqual([['(none)', 1], ['bob', 1]]);
    expect(await rows({ kind: 'teams', user: '(none)' })).toEqual([['(none)', 1]]);
    expect(await rows({ kind: 'users', project: '(none)' })).toEqual([['(none)', 1]]);
    expect(await runReport({ kind: 'teams', db: noneDb, team: '(none)' })).toContain('│ (none) │        2 │');
    expect((JSON.parse(await runEvents({ db: noneDb, json: true, team: '(none)' })) as { id: string }[]).map((e) => e.id)).toEqual(['n2', 'n3']);
    // The events table prints a missing user or team as `(none)` too, the value that selects it.
    const table = await runEvents({ db: noneDb, team: '(none)', tz: 'UTC' });
    expect(table).toMatch(/│ gateway │ \(none\) │ \(none\) │/);
    expect(table).toMatch(/│ gateway │ bob +│ \(none\) │/);
  });
});

describe('goodhart report session, long ids', () => {
  it('shortens ids longer than 36 characters in the middle in the table, and keeps them whole in --json and --csv', async () => {
    const longDb = join(dir, 'long-sessions.db');
    const id = `cc-alice-${'x'.repeat(230)}-the-end-of-it`;
    const store = new SqliteStore(longDb);
    await store.insertEvents([makeTestEvent({ id: 'long', sessionId: id, startedAt: at('2025-03-10T09:00:00Z'), costUsd: 0.5 })]);
    await store.close();
    const table = await runReport({ kind: 'session', db: longDb });
    expect(table).not.toContain(id);
    expect(Math.max(...table.split('\n').map((l) => l.length))).toBeLessThan(140);
    expect(table).toContain('│ cc-alice-xxxxxxxx...xx-the-end-of-it │');
    const json = JSON.parse(await runReport({ kind: 'session', db: longDb, json: true })) as { rows: { key: string }[] };
    expect(json.rows.map((r) => r.key)).toEqual([id]);
    expect((await runReport({ kind: 'session', db: longDb, csv: true })).split('\r\n')[1]).toMatch(new RegExp(`^${id},`));
    // A UUID (36) is shown whole; characters, not UTF-16 units, are counted.
    expect(shortenId('0199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b')).toBe('0199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b');
    expect(Array.from(shortenId('😀'.repeat(40)))).toHaveLength(36);
  });
});

describe('goodhart report (table)', () => {
  it('prints a titled table with a total line and the unpriced note', async () => {
    const out = await runReport({ kind: 'daily', db });
    const lines = out.split('\n');
    expect(lines[0]).toBe('Usage by day (UTC)');
    expect(lines.find((l) => l.includes('Total'))).toBe(
      '│ Total      │        4 │ 7,010 │      1,700 │                 150 │  1,805 │       120 │ 0.2625 (+1 n/a) │',
    );
    expect(lines.at(-2)).toBe('n/a: 1 of 4 requests (25%) used models with no known price; their cost is not included.');
  });

  it('says under the table how many requests had their tokens estimated (e4: the provider reported no usage)', async () => {
    expect((await runReport({ kind: 'daily', db })).split('\n').at(-1)).toBe(
      'estimated: 1 of 4 requests (25%) had no usage from the provider (the client disconnected, the stream broke off); Goodhart counted their tokens itself, so they are approximate.',
    );
    expect(await runReport({ kind: 'daily', db, until: '2025-03-31' })).not.toContain('estimated');
  });
});

describe('user errors', () => {
  it('name the option and the expected format', async () => {
    await expect(runReport({ kind: 'daily', db, since: '03/10/2025' })).rejects.toThrow(
      /^--since: expected YYYY-MM-DD \(a day in --tz\) or an ISO 8601 timestamp/,
    );
    await expect(runReport({ kind: 'daily', db, until: '2025-02-30' })).rejects.toThrow(/^--until: .*no such day/);
    await expect(runReport({ kind: 'daily', db, tz: 'Berlin' })).rejects.toThrow(/^--tz: unknown time zone "Berlin"/);
    await expect(runReport({ kind: 'daily', db, source: 'cursor' })).rejects.toThrow(/^--source: unknown source "cursor"\. Use one of: gateway/);
    await expect(runEvents({ db, limit: '-1' })).rejects.toThrow(/^--limit: expected a whole number \(0 for all events\)/);
    await expect(runEvents({ db, limit: 'all' })).rejects.toThrow(/^--limit: expected a whole number/);
  });

  it('report a missing database instead of creating an empty one', async () => {
    await expect(runReport({ kind: 'daily', db: join(dir, 'nope', 'x.db') })).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringMatching(/No Goodhart database at .*x\.db/),
    });
  });
});

describe('which database', () => {
  it("reads the config's db, as serve and import do; --db wins", async () => {
    const config = join(dir, 'with-db.yaml');
    writeFileSync(config, `db: ${JSON.stringify(db)}\n`);
    const viaConfig = JSON.parse(await runReport({ kind: 'daily', config, json: true })) as { rows: { requests: number }[] };
    expect(viaConfig.rows.reduce((n, r) => n + r.requests, 0)).toBe(4);
    expect(JSON.parse(await runEvents({ config, json: true })).map((e: UsageEvent) => e.id)).toEqual(['e1', 'e2', 'e3', 'e4']);
    await expect(runReport({ kind: 'daily', config, db: join(dir, 'other.db') })).rejects.toMatchObject({ message: expect.stringMatching(/No Goodhart database at .*other\.db/) });
  });

  it('does not need the secrets only serve uses: an admin key, a Slack URL, a provider key from unset variables', async () => {
    const config = join(dir, 'with-secrets.yaml');
    writeFileSync(
      config,
      [
        `db: ${JSON.stringify(db)}`,
        'providers:',
        '  openai: { type: openai, baseUrl: "https://api.openai.com/v1", apiKey: "${GOODHART_TEST_UNSET_OPENAI_KEY}" }',
        'admin:',
        '  keys: [{ id: ops, key: "${GOODHART_TEST_UNSET_ADMIN_KEY}" }]',
        'alerts:',
        '  sinks: [{ type: slack, url: "${GOODHART_TEST_UNSET_SLACK_URL}" }]',
      ].join('\n'),
    );
    const report = JSON.parse(await runReport({ kind: 'daily', config, json: true })) as { rows: { requests: number }[] };
    expect(report.rows.reduce((n, r) => n + r.requests, 0)).toBe(4);
    expect(JSON.parse(await runEvents({ config, json: true }))).toHaveLength(4);
  });
});

describe('goodhart events', () => {
  it('--json gives the newest N events, oldest first, with every field', async () => {
    expect(JSON.parse(await runEvents({ db, json: true, limit: '2' }))).toEqual([e3, e4]);
    expect(JSON.parse(await runEvents({ db, json: true }))).toEqual(all);
    expect(JSON.parse(await runEvents({ db, json: true, since: '2025-03-10T23:00:00Z', until: '2025-03-11' }))).toEqual([e2, e3]);
  });

  it('prints a compact table in the chosen time zone', async () => {
    const out = await runEvents({ db, limit: 2, tz: 'Asia/Kolkata' });
    expect(out).toBe(
      [
        '┌─────────────────────┬─────────┬───────┬──────┬───────────────────┬────────┬────────┬──────────┬──────────────────┐',
        '│ Time (Asia/Kolkata) │ Source  │ User  │ Team │ Model             │  Input │ Output │ Cost USD │           Status │',
        '├─────────────────────┼─────────┼───────┼──────┼───────────────────┼────────┼────────┼──────────┼──────────────────┤',
        '│ 2025-03-11 15:30:00 │ gateway │ alice │ core │ mystery-1         │     10 │      5 │      n/a │              200 │',
        '│ 2025-04-02 17:30:00 │ gateway │ bob   │ data │ gpt-4o-2024-08-06 │ ~4,000 │ ~1,000 │   0.2000 │ 502 upstream_5xx │',
        '└─────────────────────┴─────────┴───────┴──────┴───────────────────┴────────┴────────┴──────────┴──────────────────┘',
        '~ estimated: 1 event had no usage from the provider (the client disconnected, the stream broke off); Goodhart counted its tokens itself, so they are approximate (usageEstimated in --json).',
        'Showing the newest 2 of 4 events; --limit N for more, --limit 0 for all.',
      ].join('\n'),
    );
    // All of them fit: nothing to say.
    expect(await runEvents({ db, limit: 4 })).not.toContain('Showing the newest');
  });

  it('shows what is billed besides text tokens in a column of its own, only when a listed event has some', () => {
    const searched = { ...e4, status: 200, errorClass: null, usageEstimated: false, toolCalls: { web_search: 2, file_search: 1 } };
    const spoken = { ...e1, modelServed: 'gpt-audio', audioInputTokens: 500, audioOutputTokens: 200 };
    const lines = formatEventsTable([searched, spoken], 'UTC').split('\n');
    expect(lines[1]).toContain('│ Also billed ');
    expect(lines[3]).toContain('│ web_search ×2, file_search ×1 │');
    expect(lines[4]).toContain('│ audio 500 in / 200 out');
    expect(formatEventsTable([e1], 'UTC')).not.toContain('Also billed');
  });
});

describe('commander registration', () => {
  const stdout: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    stdout.length = 0;
  });
  const program = (): Command => {
    const p = new Command('goodhart').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    registerReport(p);
    registerEvents(p);
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
    return p;
  };

  it('runs `report daily --json` and `events --json --limit 1`', async () => {
    await program().parseAsync(['report', 'daily', '--json', '--db', db, '--tz', 'UTC', '--team', 'data'], { from: 'user' });
    await program().parseAsync(['events', '--json', '--limit', '1', '--db', db], { from: 'user' });
    const [report, events] = stdout;
    expect((JSON.parse(report ?? '') as { rows: { key: string }[] }).rows.map((r) => r.key)).toEqual(['2025-03-10', '2025-04-02']);
    expect(JSON.parse(events ?? '')).toEqual([e4]);
  });

  it('says on stderr when `events --json` left events out, and `--limit 0` prints them all', async () => {
    const stderr: string[] = [];
    const p = program();
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    await p.parseAsync(['events', '--json', '--limit', '3', '--db', db], { from: 'user' });
    expect(JSON.parse(stdout[0] ?? '')).toEqual([e2, e3, e4]);
    expect(stderr).toEqual(['events: Showing the newest 3 of 4 events; --limit N for more, --limit 0 for all.\n']);
    await program().parseAsync(['events', '--json', '--limit', '0', '--db', db], { from: 'user' });
    await program().parseAsync(['events', '--json', '--limit', '4', '--db', db], { from: 'user' });
    expect(JSON.parse(stdout[1] ?? '')).toEqual(all);
    expect(JSON.parse(stdout[2] ?? '')).toEqual(all);
    expect(stderr).toHaveLength(1);
  });

  it('says in `report --help` what Input and Output count: cache and reasoning included', async () => {
    let help = '';
    const p = new Command('goodhart').exitOverride().configureOutput({ writeOut: (s) => (help += s), writeErr: () => undefined });
    registerReport(p);
    await expect(p.parseAsync(['report', '--help'], { from: 'user' })).rejects.toMatchObject({ code: 'commander.helpDisplayed' });
    expect(help).toContain('Input        every input token: uncached input + Cache read + Cache write.');
    expect(help).toContain("ccusage's Input is the uncached part alone");
    expect(help).toContain('Output       every output token, Reasoning included.');
  });

  it('rejects an unknown period', async () => {
    await expect(program().parseAsync(['report', 'yearly', '--db', db], { from: 'user' })).rejects.toMatchObject({
      code: 'commander.invalidArgument',
    });
  });
});

describe('goodhart report weekly, teams, users, models, projects, --csv', () => {
  const rowsOf = async (o: Parameters<typeof runReport>[0]): Promise<[string, number, number][]> =>
    (JSON.parse(await runReport({ ...o, json: true })) as { rows: { key: string; requests: number; costUsd: number }[] }).rows.map((r) => [
      r.key,
      r.requests,
      r.costUsd,
    ]);

  it('groups by ISO week (keyed by its Monday), team, user, model and project, biggest cost first', async () => {
    expect(await rowsOf({ kind: 'weekly', db })).toEqual([
      ['2025-03-10', 3, 0.0625],
      ['2025-03-31', 1, 0.2],
    ]);
    expect(await rowsOf({ kind: 'teams', db })).toEqual([
      ['data', 2, 0.25],
      ['core', 2, 0.0125],
    ]);
    expect(await rowsOf({ kind: 'users', db, since: '2025-03-11' })).toEqual([
      ['bob', 1, 0.2],
      ['alice', 1, 0],
    ]);
    expect(await rowsOf({ kind: 'models', db, team: 'data' })).toEqual([
      ['gpt-4o-2024-08-06', 1, 0.2],
      ['claude-sonnet-4-20250514', 1, 0.05],
    ]);
    expect(await rowsOf({ kind: 'projects', db, source: 'gateway' })).toEqual([['web', 3, 0.2125]]);
  });

  it('prints CSV with a header line', async () => {
    const csv = await runReport({ kind: 'teams', csv: true, db });
    expect(csv.split('\r\n')).toEqual([
      'Team,requests,inputTokens,cacheReadTokens,cacheWrite5mTokens,cacheWrite1hTokens,outputTokens,reasoningTokens,costUsd,unpricedRequests,estimatedRequests,firstAt,lastAt,models',
      'data,2,6000,1500,0,100,1500,120,0.25,0,1,2025-03-10T23:30:00.000Z,2025-04-02T12:00:00.000Z,claude-sonnet-4-20250514 gpt-4o-2024-08-06',
      'core,2,1010,200,50,0,305,0,0.0125,1,0,2025-03-10T09:00:00.000Z,2025-03-11T10:00:00.000Z,gpt-4o-2024-08-06 mystery-1',
    ]);
    await expect(runReport({ kind: 'teams', csv: true, json: true, db })).rejects.toThrow(/Choose one of --json and --csv/);
  });
});

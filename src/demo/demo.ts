import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { configSchema, type GoodhartConfigInput } from '../config/schema.js';
import { findingsStoreOf } from '../detect/store.js';
import { newKey } from '../keys/keys.js';
import { startSimProvider } from '../sim/index.js';
import { startGateway } from '../cli/commands/serve.js';
import { openStore } from '../store/open.js';
import { createPricer } from '../usage/pricing.js';
import { checkPortFree, DEFAULT_DEMO_DB, resetDemoDb } from './demo-db.js';
import { demoHistory, historySpend, HISTORY_DAYS, HISTORY_LOOP_USER } from './history.js';
import { DEMO_DETECT, demoOrgConfig, LEAD, MEMBER, PEOPLE, PILOT_TEAM, projectOf, TEAMS } from './org.js';
import { LOOP_AT_S, loopCall, RegularTraffic, type DemoCall } from './traffic.js';

async function send(baseUrl: string, key: string, call: DemoCall, session: string): Promise<number> {
  const res = await request(baseUrl + call.path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${key}`,
      'anthropic-version': '2023-06-01',
      'x-goodhart-session': session,
      'x-goodhart-tags': 'demo',
    },
    body: JSON.stringify(call.body),
  });
  await res.body.dump();
  return res.statusCode;
}

export interface DemoOptions {
  port?: number | undefined;
  host?: string | undefined;
  db?: string | undefined;
  log: (line: string) => void;
  /** Requests sent at start (default 40); then one every `intervalMs` (default 3000; 0 = none, and no scripted loops). */
  initialRequests?: number;
  intervalMs?: number;
  /** A rephrase loop (LOOP_TRIES) is started at once and then every `loopEveryMs` (default 10 minutes). */
  loopEveryMs?: number;
}

export interface Demo {
  url: string;
  /** Every demo person's key, by user id. */
  keys: Record<string, string>;
  /** The admin key (admin.keys, role admin): the whole organisation on the dashboard and the admin API. */
  adminKey: string;
  /** The access request the member made at start (pending; her lead decides it). */
  accessRequestId: string | null;
  stop(): Promise<void>;
}

/** Sends the access request a member makes on meeting the premium tier's 403, through the admin API. */
async function requestPremium(url: string, key: string): Promise<string | null> {
  const res = await request(`${url}/admin/v1/access-requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ tier: 'premium', justification: 'Comparing claude-opus-4-1 with sonnet on the ledger migration plan', hours: 24 }),
  });
  const body = (await res.body.json()) as { id?: string };
  return res.statusCode === 201 ? (body.id ?? null) : null;
}

/**
 * `goodhart serve --demo`: a simulated provider (OpenAI and Anthropic wire formats, streaming, realistic token
 * counts and latency), a demo organisation (three teams of four, leads, tiers, two budgets, an admin key) with two
 * weeks of made-up history, an access request, live traffic and a rephrase loop every ten minutes, all offline.
 */
export async function runDemo(opts: DemoOptions): Promise<Demo> {
  const db = opts.db ?? DEFAULT_DEMO_DB;
  const port = opts.port ?? 8787;
  const host = opts.host ?? '127.0.0.1';
  // Before the database is deleted: a demo that cannot listen (another demo has the port) must leave it alone.
  await checkPortFree(port, host);
  resetDemoDb(db);

  // Keys and history go in before the gateway starts: budgets and live detection read the store at start.
  const keys: Record<string, string> = {};
  const keyIds = new Map<string, string>();
  const seeding = await openStore(db);
  let spend: ReturnType<typeof historySpend>;
  try {
    for (const p of PEOPLE) {
      const made = newKey({ userId: p.id, teamId: p.team, projectId: projectOf(p), name: 'demo' });
      await seeding.createKey(made.record);
      keys[p.id] = made.key;
      keyIds.set(p.id, made.record.id);
    }
    const findings = findingsStoreOf(seeding);
    const history = demoHistory({ now: Date.now(), people: PEOPLE, keyIds, pricer: createPricer(), secret: (await findings?.fingerprintSecret()) ?? 'no-fingerprints' });
    await seeding.insertEvents(history.events);
    if (findings !== undefined) await findings.insertFingerprints(history.fingerprints);
    spend = historySpend(history.events);
  } finally {
    await seeding.close();
  }

  const adminKey = `gh_admin_${randomBytes(18).toString('base64url')}`;
  const sim = await startSimProvider({ firstTokenMs: 120, interTokenMs: 8 });
  const input: GoodhartConfigInput = {
    server: { port, host },
    providers: {
      openai: { type: 'openai', baseUrl: `${sim.url}/v1`, apiKey: 'sk-sim-openai' },
      anthropic: { type: 'anthropic', baseUrl: sim.url, apiKey: 'sk-ant-sim' },
    },
    ...demoOrgConfig({ budgets: spend, adminKey }),
  };
  const config = configSchema.parse(input);
  let running: Awaited<ReturnType<typeof startGateway>>;
  try {
    running = await startGateway(config, db);
  } catch (err) {
    await sim.close();
    throw err;
  }
  const url = running.url;
  const accessRequestId = await requestPremium(url, keys[MEMBER]!).catch(() => null);

  const k = keys[MEMBER]!;
  const cli = 'node dist/cli/main.js';
  const team = (id: string) =>
    `${id} (${PEOPLE.filter((p) => p.team === id)
      .map((p) => (p.role === 'member' ? p.id : `${p.id}, ${p.role}`))
      .join('; ')})`;
  opts.log(
    [
      '',
      `Goodhart demo is running at ${url} (offline: a simulated provider answers, nothing leaves this machine).`,
      `Store: ${db}, with ${HISTORY_DAYS} days of made-up usage before today. Teams: ${TEAMS.map((t) => team(t.id)).join('; ')}.`,
      '',
      `Dashboard: ${url}/  Sign in with a key:`,
      ...[
        [`${MEMBER}, member of ${PEOPLE.find((p) => p.id === MEMBER)!.team}`, k, `her usage and findings, her team's totals`],
        [`${LEAD}, its lead`, keys[LEAD]!, `the team in full; decides ${MEMBER}'s request for the premium tier`],
        ['admin key', adminKey, `the organisation, every team, all budgets (${PILOT_TEAM}-pilot is near its 80% threshold)`],
      ].map(([who, key, sees]) => `  ${who!.padEnd(26)}${key!.padEnd(38)}${sees}`),
      '',
      `Try the API with ${MEMBER}'s key:`,
      `  curl -s ${url}/v1/chat/completions -H "Authorization: Bearer ${k}" -H "content-type: application/json" \\`,
      `    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`,
      `  (claude-opus-4-1 or gpt-5 answer 403: premium is for seniors and leads, or by an access request)`,
      `  OPENAI_BASE_URL=${url}/v1 OPENAI_API_KEY=${k}        (OpenAI SDKs; Codex needs a config.toml entry: README, "Pointing clients at Goodhart")`,
      `  ANTHROPIC_BASE_URL=${url} ANTHROPIC_API_KEY=${k}     (Anthropic SDKs, Claude Code)`,
      '',
      'See what it cost, in another terminal:',
      `  ${cli} report daily --db ${db}`,
      `  ${cli} report session --db ${db} --json`,
      `  GOODHART_ADMIN_KEY=${adminKey} ${cli} budgets status --url ${url}`,
      '',
      `Waste detection runs live, with the demo's timings (a check every ${DEMO_DETECT.live.intervalSeconds} s; a rephrase loop ends after ${DEMO_DETECT.rephraseLoop.maxGapMinutes} quiet minute, 10 by default):`,
      `${HISTORY_LOOP_USER}'s loop from the history is a finding at once; ${MEMBER} now rewords one question four times, a finding about three`,
      `minutes from now (Findings on the dashboard, or \`${cli} findings --db ${db}\`). Another person does the same every ten minutes.`,
      '',
      'Ctrl-C stops it (pending usage events are written first).',
      '',
    ].join('\n'),
  );

  let stopped = false;
  const failed = (err: unknown) => {
    if (!stopped) opts.log(`demo request failed: ${String(err)}`);
  };
  const traffic = new RegularTraffic(PEOPLE);
  const next = () => {
    const { person, call, session } = traffic.next();
    return send(url, keys[person.id]!, call, session).catch(failed);
  };
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) f();
    }, ms);
    timers.add(t);
  };
  const initial = opts.initialRequests ?? 40;
  let sent = 0;
  void (async () => {
    const workers = Array.from({ length: 4 }, async () => {
      while (!stopped && sent < initial) {
        sent++;
        await next();
      }
    });
    await Promise.all(workers);
    if (!stopped && initial > 0) opts.log(`demo: sent ${initial} requests through the gateway; a new one follows every few seconds.`);
  })();
  const intervalMs = opts.intervalMs ?? 3000;
  const timer = intervalMs > 0 ? setInterval(() => void next(), intervalMs) : undefined;

  // Rephrase loops: the member first, then the others in turn (members and seniors, not the leads).
  const loopers = [MEMBER, ...PEOPLE.filter((p) => p.role !== 'lead' && p.id !== MEMBER).map((p) => p.id)];
  const loop = (n: number) => {
    const user = loopers[n % loopers.length]!;
    for (const [i, s] of LOOP_AT_S.entries()) later(s * 1000, () => void send(url, keys[user]!, loopCall(i), `demo-${user}-loop-${n}`).catch(failed));
    later(loopEveryMs, () => loop(n + 1));
  };
  const loopEveryMs = opts.loopEveryMs ?? 10 * 60_000;
  if (intervalMs > 0 && loopEveryMs > 0) loop(0);

  return {
    url,
    keys,
    adminKey,
    accessRequestId,
    async stop() {
      stopped = true;
      clearInterval(timer);
      for (const t of timers) clearTimeout(t);
      await running.stop();
      await sim.close();
    },
  };
}

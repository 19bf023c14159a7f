import { request } from 'undici';
import { configSchema, type GoodhartConfigInput } from '../config/schema.js';
import { newKey } from '../keys/keys.js';
import { startSimProvider } from '../sim/index.js';
import { startGateway } from '../cli/commands/serve.js';
import { checkPortFree, DEFAULT_DEMO_DB, resetDemoDb } from './demo-db.js';

/** The demo organisation: small enough to read in a report, varied enough to show attribution. */
const TEAMS = [
  { id: 'platform', name: 'Platform' },
  { id: 'payments', name: 'Payments' },
  { id: 'research', name: 'Research' },
];
const USERS = [
  { id: 'ada', team: 'platform' },
  { id: 'grace', team: 'platform' },
  { id: 'linus', team: 'payments' },
  { id: 'margaret', team: 'payments' },
  { id: 'barbara', team: 'research' },
];
const PROJECTS = [
  { id: 'checkout', team: 'payments' },
  { id: 'infra', team: 'platform' },
  { id: 'evals', team: 'research' },
];

const PROMPTS = [
  'Summarise the attached incident report in three bullet points.',
  'Write a unit test for a function that parses ISO dates.',
  'Explain the difference between optimistic and pessimistic locking.',
  'Refactor this function to avoid the nested loops and explain the complexity.',
  'Draft a short changelog entry for the new retry policy.',
  'What is 17% of 2,340? Show the steps.',
];

interface DemoCall {
  path: string;
  body: Record<string, unknown>;
}

function pick<T>(xs: readonly T[], i: number): T {
  return xs[i % xs.length]!;
}

function demoCall(i: number): DemoCall {
  const prompt = pick(PROMPTS, i * 7 + 3);
  const stream = i % 3 !== 0;
  switch (i % 5) {
    case 0:
    case 1:
      return {
        path: '/v1/chat/completions',
        body: { model: pick(['gpt-4o-mini', 'gpt-4.1', 'gpt-5-mini', 'gpt-4o'], i), stream, messages: [{ role: 'user', content: prompt }] },
      };
    case 2:
      return {
        path: '/v1/messages',
        body: {
          model: pick(['claude-sonnet-4-20250514', 'claude-haiku-4-5', 'claude-opus-4-1'], i),
          max_tokens: 1024,
          stream,
          system: [{ type: 'text', text: 'You are a careful senior engineer. '.repeat(200), cache_control: { type: 'ephemeral' } }],
          messages: [{ role: 'user', content: prompt }],
        },
      };
    case 3:
      return { path: '/v1/responses', body: { model: 'gpt-5', stream, input: prompt } };
    default:
      return { path: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: [prompt, pick(PROMPTS, i)] } };
  }
}

async function send(baseUrl: string, key: string, call: DemoCall, session: string): Promise<void> {
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
}

export interface DemoOptions {
  port?: number | undefined;
  host?: string | undefined;
  db?: string | undefined;
  log: (line: string) => void;
  /** Requests sent at start (default 40); then one every `intervalMs` (default 3000; 0 = none). */
  initialRequests?: number;
  intervalMs?: number;
}

/**
 * `goodhart serve --demo`: a simulated provider (OpenAI and Anthropic wire formats, streaming, realistic token
 * counts and latency), a demo organisation with keys, and a little traffic, all offline.
 */
export async function runDemo(opts: DemoOptions): Promise<{ url: string; keys: Record<string, string>; stop(): Promise<void> }> {
  const db = opts.db ?? DEFAULT_DEMO_DB;
  const port = opts.port ?? 8787;
  const host = opts.host ?? '127.0.0.1';
  // Before the database is deleted: a demo that cannot listen (another demo has the port) must leave it alone.
  await checkPortFree(port, host);
  resetDemoDb(db);
  const sim = await startSimProvider({ firstTokenMs: 120, interTokenMs: 8 });
  const input: GoodhartConfigInput = {
    server: { port, host },
    providers: {
      openai: { type: 'openai', baseUrl: `${sim.url}/v1`, apiKey: 'sk-sim-openai' },
      anthropic: { type: 'anthropic', baseUrl: sim.url, apiKey: 'sk-ant-sim' },
    },
    teams: TEAMS,
    users: USERS,
    projects: PROJECTS,
  };
  const config = configSchema.parse(input);
  const running = await startGateway(config, db);
  const keys: Record<string, string> = {};
  for (const [i, u] of USERS.entries()) {
    const made = newKey({ userId: u.id, teamId: u.team, projectId: pick(PROJECTS.filter((p) => p.team === u.team), i)?.id ?? null, name: 'demo' });
    await running.store.createKey(made.record);
    keys[u.id] = made.key;
  }
  await running.gateway.keys.refresh();

  const url = running.url;
  const k = keys.ada!;
  opts.log(
    [
      '',
      `Goodhart demo is running at ${url} (offline: a simulated provider answers, nothing leaves this machine).`,
      `Store: ${db}. Demo users: ${USERS.map((u) => `${u.id} (${u.team})`).join(', ')}.`,
      '',
      `Try it (ada's key: ${k}):`,
      `  curl -s ${url}/v1/chat/completions -H "Authorization: Bearer ${k}" -H "content-type: application/json" \\`,
      `    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`,
      `  OPENAI_BASE_URL=${url}/v1 OPENAI_API_KEY=${k}        (OpenAI SDKs; Codex needs a config.toml entry: README, "Pointing clients at Goodhart")`,
      `  ANTHROPIC_BASE_URL=${url} ANTHROPIC_API_KEY=${k}     (Anthropic SDKs, Claude Code)`,
      '',
      'See what it cost, in another terminal:',
      `  node dist/cli/main.js report daily --db ${db}`,
      `  node dist/cli/main.js report session --db ${db} --json`,
      '',
      'Ctrl-C stops it (pending usage events are written first).',
      '',
    ].join('\n'),
  );

  let stopped = false;
  let i = 0;
  const next = () => {
    const user = pick(USERS, i * 3 + 1);
    const call = demoCall(i);
    const session = `demo-${user.id}-${Math.floor(i / 6)}`;
    i++;
    return send(url, keys[user.id]!, call, session).catch((err: unknown) => {
      if (!stopped) opts.log(`demo request failed: ${String(err)}`);
    });
  };
  const initial = opts.initialRequests ?? 40;
  void (async () => {
    const workers = Array.from({ length: 4 }, async () => {
      while (!stopped && i < initial) await next();
    });
    await Promise.all(workers);
    if (!stopped) opts.log(`demo: sent ${initial} requests through the gateway; a new one follows every few seconds.`);
  })();
  const intervalMs = opts.intervalMs ?? 3000;
  const timer = intervalMs > 0 ? setInterval(() => void next(), intervalMs) : undefined;

  return {
    url,
    keys,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running.stop();
      await sim.close();
    },
  };
}

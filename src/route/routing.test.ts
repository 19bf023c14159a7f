import { afterEach, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';
import { configSchema, type GoodhartConfigInput } from '../config/schema.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { runFindings } from '../cli/commands/detect.js';
import { runRoutingSavings } from '../cli/commands/routing.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryDecisionStore, type RouteDecisionStore } from './decisions.js';
import { SqliteDecisionStore } from './sqlite-decisions.js';
import { createRouting, ladderProblems, type Routing } from './index.js';
import { parseConfig } from '../config/load.js';
import { ROUTE_REASON_HEADER, ROUTED_FROM_HEADER, RoutingPolicy } from './policy.js';
import { routingSchema } from './config.js';
import { createPricer } from '../usage/pricing.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const x of open.splice(0).reverse()) await x.close();
});

/**
 * Routing (`routing`) in front of the simulator. `gateway` adds providers, models and fallbacks to the gateway's
 * config, given the simulator's URL (called once for the routing's own config, then with the real URL).
 */
async function setup<S extends RouteDecisionStore = MemoryDecisionStore>(
  routing: Record<string, unknown>,
  store: S = new MemoryDecisionStore() as RouteDecisionStore as S,
  gateway: (simUrl: string) => { providers?: Record<string, unknown>; models?: unknown[]; fallbacks?: Record<string, string[]> } = () => ({}),
): Promise<{ h: Harness; r: Routing; store: S }> {
  const config = (sim: string) => {
    const extra = gateway(sim);
    const providers = {
      openai: { type: 'openai', baseUrl: `${sim}/v1`, apiKey: 'sk-sim-openai' },
      anthropic: { type: 'anthropic', baseUrl: sim, apiKey: 'sk-ant-sim' },
      ...extra.providers,
    };
    return { ...extra, providers } as Partial<GoodhartConfigInput>;
  };
  const r = createRouting(configSchema.parse({ ...config('http://sim.invalid'), routing }), store, { flushIntervalMs: 20 });
  await r.ready;
  const h = await startHarness({ policy: r.policy, observers: [r.guard], config });
  open.push(h, r);
  return { h, r, store };
}

/**
 * An OpenAI-compatible upstream that passes requests on to the simulator, or answers a request for a model in `fail`
 * with its status instead (`*`: any model). `provider(sim)` is its provider entry, for `setup`'s gateway config.
 */
async function upstreamSwitch() {
  const sw = { fail: new Map<string, number>(), sim: '', url: '' };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { model } = JSON.parse(Buffer.concat(chunks).toString()) as { model: string };
      const status = sw.fail.get(model) ?? sw.fail.get('*');
      if (status !== undefined) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `failing on purpose (${status})`, type: 'requests', code: null, param: null } }));
        return;
      }
      fetch(`${sw.sim}${req.url}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-sim-openai' }, body: Buffer.concat(chunks) }).then(
        async (up) => {
          res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await up.arrayBuffer()));
        },
        () => res.destroy(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  sw.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
  return {
    sw,
    provider(sim: string) {
      sw.sim = sim;
      return { type: 'openai-compatible' as const, baseUrl: sw.url, models: [] as string[] };
    },
  };
}

async function baseline(): Promise<Harness> {
  const h = await startHarness();
  open.push(h);
  return h;
}

const SIMPLE = 'What is the capital of France?';

/** The same requests, as raw HTTP, so that every byte the client gets can be compared. */
const WIRE_REQUESTS = [
  { path: '/v1/chat/completions', body: { model: 'gpt-5', messages: [{ role: 'user', content: SIMPLE }] } },
  { path: '/v1/chat/completions', body: { model: 'gpt-5', stream: true, messages: [{ role: 'user', content: SIMPLE }] } },
  { path: '/v1/responses', body: { model: 'gpt-5', input: SIMPLE } },
  { path: '/v1/messages', body: { model: 'claude-opus-4-1', max_tokens: 200, messages: [{ role: 'user', content: SIMPLE }] } },
  { path: '/v1/messages', body: { model: 'claude-opus-4-1', max_tokens: 200, stream: true, messages: [{ role: 'user', content: SIMPLE }] } },
];

async function send(h: Harness, path: string, body: unknown, extra: Record<string, string> = {}) {
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${h.key}`, 'anthropic-version': '2023-06-01', ...extra },
    body: JSON.stringify(body),
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!['x-goodhart-request-id', 'date', 'keep-alive', 'connection'].includes(k)) headers[k] = v;
  });
  return { status: res.status, headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('routing in shadow mode', () => {
  it('changes nothing on the wire: same upstream model, same bytes and headers to the client', async () => {
    const plain = await baseline();
    const { h, r, store } = await setup({ mode: 'shadow' });
    // Same simulator seed on both sides; a frozen clock makes `created` fields equal too.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-11-02T10:00:00Z') });
    for (const req of WIRE_REQUESTS) {
      const a = await send(plain, req.path, req.body);
      const b = await send(h, req.path, req.body);
      expect(b.status).toBe(200);
      expect(b.headers).toEqual(a.headers);
      expect(Object.keys(b.headers).filter((k) => k.startsWith('x-goodhart-rout'))).toEqual([]);
      expect(b.bytes.equals(a.bytes)).toBe(true);
    }
    vi.useRealTimers();

    const served = (await h.events()).map((e) => [e.modelRequested, e.modelServed]);
    expect(served).toEqual((await plain.events()).map((e) => [e.modelRequested, e.modelServed]));
    expect(served.every(([req, got]) => req === got)).toBe(true);

    // …while every one of them is recorded with what routing would have done and saved.
    await r.writer.flush();
    expect(store.rows).toHaveLength(WIRE_REQUESTS.length);
    for (const d of store.rows) {
      expect(d).toMatchObject({ mode: 'shadow', applied: false, userId: 'alice', teamId: 'platform', missAt: null });
      expect(['gpt-5-mini', 'gpt-5-nano', 'claude-sonnet-4-20250514', 'claude-haiku-4-5']).toContain(d.modelRouted);
      expect(d.routedCostUsd!).toBeLessThan(d.requestedCostUsd!);
    }
    const events = await h.events();
    expect(store.rows.map((d) => d.requestedCostUsd)).toEqual(events.map((e) => e.costUsd));
  });

  it('records no decision for a request the provider failed: nothing was generated, nothing would be saved', async () => {
    const { h, r, store } = await setup({ mode: 'shadow', thresholds: [0.3, 0.27] });
    const res = await send(h, '/v1/chat/completions', { model: 'gpt-5', messages: [{ role: 'user', content: `${SIMPLE} [[sim:status=503]]` }] });
    expect(res.status).toBe(503);
    await send(h, '/v1/chat/completions', { model: 'gpt-5', messages: [{ role: 'user', content: SIMPLE }] });
    await r.writer.flush();
    expect((await h.events()).map((e) => e.status)).toEqual([503, 200]);
    expect(store.rows).toHaveLength(1);
    expect(store.rows[0]!.requestedCostUsd).toBeGreaterThan(0);
  });
});

describe('routing on', () => {
  it('serves a simple request from a cheaper tier and says so in the headers', async () => {
    const { h, r, store } = await setup({ mode: 'on' });
    const { data, response } = await h.openai.chat.completions
      .create({ model: 'gpt-5', messages: [{ role: 'user', content: SIMPLE }] })
      .withResponse();
    expect(data.model).toBe('gpt-5-nano');
    expect(response.headers.get(ROUTED_FROM_HEADER)).toBe('gpt-5');
    expect(response.headers.get(ROUTE_REASON_HEADER)).toMatch(/^simple; score=0\.\d+; threshold=0\.\d+; class=\w+; tiers=2$/);

    const msg = await h.anthropic.messages
      .create({ model: 'claude-opus-4-1', max_tokens: 100, messages: [{ role: 'user', content: 'Translate "thank you" into French.' }] })
      .withResponse();
    expect(msg.data.model).toBe('claude-haiku-4-5');
    expect(msg.response.headers.get(ROUTED_FROM_HEADER)).toBe('claude-opus-4-1');

    const events = await h.events();
    expect(events.map((e) => [e.modelRequested, e.modelServed])).toEqual([
      ['gpt-5', 'gpt-5-nano'],
      ['claude-opus-4-1', 'claude-haiku-4-5'],
    ]);
    await r.writer.flush();
    expect(store.rows.map((d) => [d.applied, d.modelRequested, d.modelRouted])).toEqual([
      [true, 'gpt-5', 'gpt-5-nano'],
      [true, 'claude-opus-4-1', 'claude-haiku-4-5'],
    ]);
    // The routed cost is what the request really cost; the requested one prices the same tokens at gpt-5.
    expect(store.rows[0]!.routedCostUsd).toBe(events[0]!.costUsd);
    expect(store.rows[0]!.requestedCostUsd!).toBeCloseTo(events[0]!.costUsd! * (1.25 / 0.05), 9);
  });

  it('routes dated snapshots and provider-prefixed names, priced; a request that fails is no decision', async () => {
    // Thresholds that also route the failing request (its [[sim:…]] directive scores 0.26).
    const { h, r, store } = await setup({ mode: 'on', thresholds: [0.3, 0.27] });
    const ask = (model: string, text = SIMPLE) => h.openai.chat.completions.create({ model, messages: [{ role: 'user', content: text }] }).withResponse();
    const dated = await ask('gpt-5-2025-08-07');
    expect(dated.data.model).toBe('gpt-5-nano');
    expect(dated.response.headers.get(ROUTED_FROM_HEADER)).toBe('gpt-5-2025-08-07');
    const prefixed = await ask('openai/gpt-5');
    expect(prefixed.response.headers.get(ROUTED_FROM_HEADER)).toBe('openai/gpt-5');
    const msg = await h.anthropic.messages.create({ model: 'claude-opus-4-1-20250805', max_tokens: 100, messages: [{ role: 'user', content: SIMPLE }] });
    expect(msg.model).toBe('claude-haiku-4-5');
    const failed = await ask('gpt-5', `${SIMPLE} [[sim:status=503]]`).catch((e: { status: number; headers: Headers }) => e);
    // Routed to nano, which failed; tried again on gpt-5 as asked, which failed too: not routed after all.
    expect(failed).toMatchObject({ status: 503 });
    expect((failed as { headers: Headers }).headers.get(ROUTE_REASON_HEADER)).toMatch(/^simple;.*tiers=2; fell back to gpt-5 \(gpt-5-nano: upstream_5xx \(503\)\)$/);
    expect((failed as { headers: Headers }).headers.get(ROUTED_FROM_HEADER)).toBeNull();

    await r.writer.flush();
    const events = await h.events();
    expect(events).toHaveLength(4);
    expect(events[3]).toMatchObject({ status: 503, modelRequested: 'gpt-5', fallbackFrom: 'openai/gpt-5-nano: upstream_5xx (503)' });
    expect(store.rows.map((d) => [d.modelRequested, d.modelRouted])).toEqual([
      ['gpt-5-2025-08-07', 'gpt-5-nano'],
      ['openai/gpt-5', 'openai/gpt-5-nano'],
      ['claude-opus-4-1-20250805', 'claude-haiku-4-5'],
    ]);
    // gpt-5 is $1.25 per million input tokens against nano's $0.05, output $10 against $0.40: 25× either way.
    for (const [i, d] of store.rows.entries()) {
      expect(d.routedCostUsd).toBe(events[i]!.costUsd);
      expect(d.requestedCostUsd!).toBeCloseTo(events[i]!.costUsd! * (i < 2 ? 25 : 15), 9);
    }
  });

  it("records a routed request served by the cheaper model's own fallback, at what served", async () => {
    // gpt-5 → gpt-5-mini, whose configured fallback is gpt-4.1-mini; both are behind a switch set to fail.
    const { sw, provider } = await upstreamSwitch();
    const { h, r, store } = await setup({ mode: 'on', ladders: { openai: ['gpt-5', 'gpt-5-mini'] } }, new MemoryDecisionStore(), (sim) => ({
      providers: { cheap: provider(sim) },
      models: [{ name: 'gpt-5-mini', provider: 'cheap' }, { name: 'gpt-4.1-mini', provider: 'cheap' }],
      fallbacks: { 'gpt-5-mini': ['gpt-4.1-mini'] },
    }));
    const ask = () => h.openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: SIMPLE }] }).withResponse();
    sw.fail.set('gpt-5-mini', 503);
    const fellBack = await ask();
    expect(fellBack.data.model).toBe('gpt-4.1-mini');
    expect(fellBack.response.headers.get(ROUTED_FROM_HEADER)).toBe('gpt-5');
    expect(fellBack.response.headers.get(ROUTE_REASON_HEADER)).toMatch(/; tiers=1; ladder end; fell back to gpt-4\.1-mini \(gpt-5-mini: upstream_5xx \(503\)\)$/);
    const ev = (await h.events()).at(-1)!;
    expect(ev).toMatchObject({ modelRequested: 'gpt-5', modelServed: 'gpt-4.1-mini', fallbackFrom: 'cheap/gpt-5-mini: upstream_5xx (503)' });

    // Both fail: served by gpt-5 as asked, which is no routing decision.
    sw.fail.set('gpt-4.1-mini', 503);
    const asAsked = await ask();
    expect([asAsked.data.model, asAsked.response.headers.get(ROUTED_FROM_HEADER)]).toEqual(['gpt-5', null]);
    // Every hop, in order.
    expect(asAsked.response.headers.get(ROUTE_REASON_HEADER)).toMatch(
      /; tiers=1; ladder end; fell back to gpt-4\.1-mini \(gpt-5-mini: upstream_5xx \(503\)\); fell back to gpt-5 \(gpt-4\.1-mini: upstream_5xx \(503\)\)$/,
    );

    await r.writer.flush();
    expect(store.rows.map((d) => [d.modelRequested, d.modelRouted])).toEqual([['gpt-5', 'gpt-4.1-mini']]);
    const d = store.rows[0]!;
    expect(d.routedCostUsd).toBe(ev.costUsd);
    const usage = {
      input: { total: ev.inputTokens, noCache: ev.inputTokens - ev.cacheReadTokens, cacheRead: ev.cacheReadTokens, cacheWrite5m: 0, cacheWrite1h: 0 },
      output: { total: ev.outputTokens, text: ev.outputTokens - ev.reasoningTokens, reasoning: ev.reasoningTokens },
      raw: null,
    };
    expect(d.requestedCostUsd).toBeCloseTo(createPricer().price(usage, 'gpt-5', 'openai').costUsd!, 12);
    expect(d.requestedCostUsd!).toBeGreaterThan(d.routedCostUsd!);
  });

  it("records no decision when the model asked for, back in place of a failed cheaper one, is served by its own fallback", async () => {
    // gpt-5 → gpt-5-mini (routing); gpt-4.1 is the configured fallback of gpt-5, the model asked for.
    const { sw, provider } = await upstreamSwitch();
    const { h, r, store } = await setup({ mode: 'on', ladders: { openai: ['gpt-5', 'gpt-5-mini'] } }, new MemoryDecisionStore(), (sim) => ({
      providers: { cheap: provider(sim) },
      models: [{ name: 'gpt-5-mini', provider: 'cheap' }, { name: 'gpt-5', provider: 'cheap' }, { name: 'gpt-4.1', provider: 'cheap' }],
      fallbacks: { 'gpt-5': ['gpt-4.1'] },
    }));
    const forget = vi.spyOn(r.guard, 'forget');
    sw.fail.set('gpt-5', 503);
    // The cheaper model refuses (400: a parameter it does not take), or is down (503): back to gpt-5, which is down.
    for (const status of [400, 503]) {
      sw.fail.set('gpt-5-mini', status);
      forget.mockClear();
      const res = await h.openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: SIMPLE }] }).withResponse();
      expect([res.data.model, res.response.headers.get(ROUTED_FROM_HEADER)]).toEqual(['gpt-4.1', null]);
      expect((await h.events()).at(-1)).toMatchObject({ modelRequested: 'gpt-5', modelServed: 'gpt-4.1' });
      // Not a routed answer: the quality guard does not judge re-asks against it.
      expect(forget).toHaveBeenCalledTimes(1);
    }
    await r.writer.flush();
    expect(store.rows).toEqual([]);
  });

  it("shows no realised saving on the org page for a request the asked model's fallback served (governance and routing from config)", async () => {
    const { sw, provider } = await upstreamSwitch();
    const ADMIN = 'admin-secret-key-0123456789';
    const h = await startHarness({
      config: (sim) => ({
        providers: { openai: { type: 'openai', baseUrl: `${sim}/v1`, apiKey: 'sk-sim-openai' }, cheap: provider(sim) },
        models: [{ name: 'gpt-5-mini', provider: 'cheap' }, { name: 'gpt-5', provider: 'cheap' }, { name: 'gpt-4.1', provider: 'cheap' }],
        fallbacks: { 'gpt-5': ['gpt-4.1'] },
        routing: { mode: 'on', ladders: { openai: ['gpt-5', 'gpt-5-mini'] } },
        admin: { keys: [{ id: 'ops', key: ADMIN, role: 'admin' }] },
      }),
    });
    open.push(h);
    sw.fail.set('gpt-5-mini', 503);
    sw.fail.set('gpt-5', 503);
    expect((await h.openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: SIMPLE }] })).model).toBe('gpt-4.1');
    await h.events();
    // Unserved by gpt-5-mini too: a decision recorded would show as realised on the org page within the flush.
    sw.fail.delete('gpt-5');
    sw.fail.delete('gpt-5-mini');
    expect((await h.openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: SIMPLE }] })).model).toBe('gpt-5-mini');
    await h.events();
    const s = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: ADMIN } });
    const cookie = String(s.headers['set-cookie']).split(';')[0]!;
    let realised = -1;
    for (let i = 0; i < 50 && realised < 1; i++) {
      await new Promise((res) => setTimeout(res, 100));
      realised = (await h.gateway.app.inject({ method: 'GET', url: '/api/org', headers: { cookie } })).json().routing.savings?.total.realised.requests ?? 0;
    }
    // The routed request only, once its decision is flushed.
    expect(realised).toBe(1);
  });

  it('serves the model asked for when the model routing chose refuses the request (any 4xx), before the client sees it', async () => {
    const { sw, provider } = await upstreamSwitch();
    const { h, r, store } = await setup({ mode: 'on', ladders: { openai: ['gpt-5', 'gpt-5-mini'] } }, new MemoryDecisionStore(), (sim) => ({
      providers: { cheap: provider(sim) },
      models: [{ name: 'gpt-5-mini', provider: 'cheap' }],
    }));
    const messages = [{ role: 'user' as const, content: SIMPLE }];
    // The account has no access to gpt-5-mini (404 model_not_found); then it refuses a parameter (400).
    sw.fail.set('gpt-5-mini', 404);
    const missing = await h.openai.chat.completions.create({ model: 'gpt-5', messages }).withResponse();
    expect([missing.data.model, missing.response.headers.get(ROUTED_FROM_HEADER)]).toEqual(['gpt-5', null]);
    expect(missing.response.headers.get(ROUTE_REASON_HEADER)).toMatch(/^simple; .*; tiers=1; ladder end; fell back to gpt-5 \(gpt-5-mini: upstream_4xx \(404\)\)$/);
    const stream = await h.openai.chat.completions.create({ model: 'gpt-5', stream: true, messages });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    sw.fail.set('gpt-5-mini', 400);
    expect((await h.openai.chat.completions.create({ model: 'gpt-5', messages })).model).toBe('gpt-5');
    // The project may not use gpt-5-mini (OpenAI's 403 "Project … does not have access to model"), the cheaper
    // model's provider refuses the gateway's key (401), a self-hosted server rejects the body (422).
    for (const status of [403, 401, 422]) {
      sw.fail.set('gpt-5-mini', status);
      expect((await h.openai.chat.completions.create({ model: 'gpt-5', messages })).model).toBe('gpt-5');
    }
    const events = await h.events();
    expect(events.map((e) => [e.status, e.modelServed, e.fallbackFrom])).toEqual([
      [200, 'gpt-5', 'cheap/gpt-5-mini: upstream_4xx (404)'],
      [200, 'gpt-5', 'cheap/gpt-5-mini: upstream_4xx (404)'],
      [200, 'gpt-5', 'cheap/gpt-5-mini: upstream_4xx (400)'],
      [200, 'gpt-5', 'cheap/gpt-5-mini: upstream_4xx (403)'],
      [200, 'gpt-5', 'cheap/gpt-5-mini: upstream_4xx (401)'],
      [200, 'gpt-5', 'cheap/gpt-5-mini: upstream_4xx (422)'],
    ]);
    await r.writer.flush();
    expect(store.rows).toEqual([]);
    // A model the client asked for itself answers with its own error.
    const asked = await h.openai.chat.completions.create({ model: 'gpt-5-mini', messages }).catch((e: unknown) => e);
    expect(asked).toMatchObject({ status: 422 });
  });

  it('keeps complex requests on the model asked for, with the reason', async () => {
    const { h } = await setup({ mode: 'on' });
    const { data, response } = await h.openai.chat.completions
      .create({
        model: 'gpt-5',
        messages: [{ role: 'user', content: 'Design a sharded job queue; compare designs and analyze the trade-offs step by step.' }],
      })
      .withResponse();
    expect(data.model).toBe('gpt-5');
    expect(response.headers.get(ROUTED_FROM_HEADER)).toBeNull();
    expect(response.headers.get(ROUTE_REASON_HEADER)).toMatch(/^complex; score=/);
  });

  it('never reroutes a request pinned with x-goodhart-route: off', async () => {
    const { h, store, r } = await setup({ mode: 'on' });
    const { data, response } = await h.openai.chat.completions
      .create({ model: 'gpt-5', messages: [{ role: 'user', content: SIMPLE }] }, { headers: { 'x-goodhart-route': 'off' } })
      .withResponse();
    expect(data.model).toBe('gpt-5');
    expect(response.headers.get(ROUTED_FROM_HEADER)).toBeNull();
    expect(response.headers.get(ROUTE_REASON_HEADER)).toBe('pinned');
    await r.writer.flush();
    expect(store.rows).toEqual([]);
  });

  it('never reroutes to a model that lacks a capability the request needs', async () => {
    const none = { tools: false, vision: false, jsonSchema: false, contextTokens: 2_000 };
    // Thresholds of 1 would route everything: only capabilities hold these requests back.
    const { h } = await setup({ mode: 'on', thresholds: [1, 1], capabilities: { 'gpt-5-mini': none, 'gpt-5-nano': none } });
    const user = (content: unknown) => [{ role: 'user' as const, content }];
    const cases: [string, Record<string, unknown>][] = [
      ['tools', { messages: user('hi'), tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }] }],
      ['vision', { messages: user([{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }]) }],
      ['json_schema', { messages: user('hi'), response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } } }],
      ['context', { messages: user('lorem ipsum '.repeat(500)) }],
    ];
    for (const [capability, body] of cases) {
      const res = await send(h, '/v1/chat/completions', { model: 'gpt-5', ...body });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.bytes.toString()).model).toBe('gpt-5');
      expect(res.headers[ROUTED_FROM_HEADER]).toBeUndefined();
      expect(res.headers[ROUTE_REASON_HEADER]).toBe(`capability=${capability}`);
    }
    // Anthropic, built-in table: Sonnet 4 has no structured outputs, so a one-tier step is refused.
    const { h: h2 } = await setup({ mode: 'on', thresholds: [1] });
    const res = await send(h2, '/v1/messages', {
      model: 'claude-opus-4-1',
      max_tokens: 100,
      messages: user('hi'),
      output_format: { type: 'json_schema', schema: { type: 'object' } },
    });
    expect(JSON.parse(res.bytes.toString()).model).toBe('claude-opus-4-1');
    expect(res.headers[ROUTE_REASON_HEADER]).toBe('capability=json_schema');
    // Structured outputs as the SDK sends them since they left beta: `output_config.format`.
    const ga = await h2.anthropic.messages
      .create({ model: 'claude-opus-4-1', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], output_config: { format: { type: 'json_schema', schema: { type: 'object' } } } })
      .withResponse();
    expect([ga.data.model, ga.response.headers.get(ROUTE_REASON_HEADER)]).toEqual(['claude-opus-4-1', 'capability=json_schema']);
    // The control: the same plain request is routed.
    const plain = await send(h, '/v1/chat/completions', { model: 'gpt-5', messages: user('hi') });
    expect(plain.headers[ROUTED_FROM_HEADER]).toBe('gpt-5');

    // Routed fewer tiers than the score allows: the reason says what held it.
    const { h: h3 } = await setup({ mode: 'on', thresholds: [1, 1], capabilities: { 'gpt-5-nano': none } });
    const held = await send(h3, '/v1/chat/completions', { model: 'gpt-5', ...cases[0]![1] });
    expect(JSON.parse(held.bytes.toString()).model).toBe('gpt-5-mini');
    expect(held.headers[ROUTE_REASON_HEADER]).toMatch(/; tiers=1; held by capability=tools$/);
    const { h: h4 } = await setup({ mode: 'on', thresholds: [1, 1], ladders: { short: ['gpt-5', 'gpt-5-mini'] } });
    const end = await send(h4, '/v1/chat/completions', { model: 'gpt-5', messages: user('hi') });
    expect(end.headers[ROUTE_REASON_HEADER]).toMatch(/; tiers=1; ladder end$/);
  });

  it('never sends reasoning effort or extended thinking to a model without reasoning', async () => {
    // Thresholds of 1 would route everything two tiers down: only the capability holds these back.
    const ladders = { openai: ['gpt-5', 'gpt-5-mini', 'gpt-4.1-nano'], anthropic: ['claude-sonnet-4-5', 'claude-3-5-haiku-20241022'] };
    const { h } = await setup({ mode: 'on', thresholds: [1, 1], ladders });
    const q = 'Capitalize this: hello world';
    const msg = await h.anthropic.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: q }] })
      .withResponse();
    expect([msg.data.model, msg.response.headers.get(ROUTED_FROM_HEADER), msg.response.headers.get(ROUTE_REASON_HEADER)]).toEqual(['claude-sonnet-4-5', null, 'capability=reasoning']);
    // One tier down is a model with reasoning; two would be gpt-4.1-nano, which refuses the parameter.
    const chat = await h.openai.chat.completions.create({ model: 'gpt-5', reasoning_effort: 'low', messages: [{ role: 'user', content: q }] }).withResponse();
    expect(chat.data.model).toBe('gpt-5-mini');
    expect(chat.response.headers.get(ROUTE_REASON_HEADER)).toMatch(/; tiers=1; held by capability=reasoning$/);
    const responses = await h.openai.responses.create({ model: 'gpt-5', reasoning: { effort: 'low' }, input: q }).withResponse();
    expect(responses.data.model).toBe('gpt-5-mini');
    expect(responses.response.headers.get(ROUTE_REASON_HEADER)).toMatch(/held by capability=reasoning$/);
    // The control: without reasoning they go all the way down.
    expect((await h.openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: q }] })).model).toBe('gpt-4.1-nano');
    expect((await h.anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 2000, messages: [{ role: 'user', content: q }] })).model).toBe('claude-3-5-haiku-20241022');
    // A `capabilities` entry that does not say `reasoning: true` is taken to have none.
    const { h: h2 } = await setup({ mode: 'on', thresholds: [1], ladders: { openai: ['gpt-5', 'gpt-5-mini'] }, capabilities: { 'gpt-5-mini': { tools: true, vision: true, jsonSchema: true, contextTokens: 400_000 } } });
    const held = await h2.openai.chat.completions.create({ model: 'gpt-5', reasoning_effort: 'minimal', messages: [{ role: 'user', content: q }] }).withResponse();
    expect([held.data.model, held.response.headers.get(ROUTE_REASON_HEADER)]).toEqual(['gpt-5', 'capability=reasoning']);
  });

  it('sends Anthropic effort (output_config.effort) only to a model that takes it', async () => {
    // Opus 4.6 takes effort, Haiku 4.5 does not (400); neither Sonnet 4.5 nor Claude 3.5 Haiku does.
    const { h } = await setup({ mode: 'on', thresholds: [1], ladders: { anthropic: ['claude-opus-4-6', 'claude-haiku-4-5'], cap: ['claude-sonnet-4-5', 'claude-3-5-haiku-20241022'] } });
    const ask = (model: string, extra: Record<string, unknown> = {}) =>
      h.anthropic.messages.create({ model, max_tokens: 100, messages: [{ role: 'user', content: SIMPLE }], ...extra }).withResponse();
    for (const model of ['claude-opus-4-6', 'claude-sonnet-4-5']) {
      const res = await ask(model, { output_config: { effort: 'low' } });
      expect([res.data.model, res.response.headers.get(ROUTED_FROM_HEADER), res.response.headers.get(ROUTE_REASON_HEADER)]).toEqual([model, null, 'capability=effort']);
    }
    // The control: without effort both are routed.
    expect((await ask('claude-opus-4-6')).data.model).toBe('claude-haiku-4-5');
    expect((await ask('claude-sonnet-4-5', { output_config: { effort: null } })).data.model).toBe('claude-3-5-haiku-20241022');
    // A `capabilities` entry with `effort: true` (the simulator takes effort on any model) is sent it.
    const { h: h2 } = await setup({
      mode: 'on',
      thresholds: [1],
      ladders: { anthropic: ['claude-opus-4-6', 'claude-haiku-4-5'] },
      capabilities: { 'claude-haiku-4-5': { tools: true, vision: true, jsonSchema: true, contextTokens: 200_000, reasoning: true, effort: true } },
    });
    const routed = await h2.anthropic.messages.create({ model: 'claude-opus-4-6', max_tokens: 100, output_config: { effort: 'low' }, messages: [{ role: 'user', content: SIMPLE }] });
    expect(routed.model).toBe('claude-haiku-4-5');
  });

  it('sends audio, heard or spoken, only to an audio model', async () => {
    // gpt-4o-mini answers 400 to input_audio parts and to modalities: ["audio"].
    const { h } = await setup({ mode: 'on', thresholds: [1], ladders: { openai: ['gpt-audio', 'gpt-4o-mini'] } });
    const ask = (extra: Record<string, unknown>) => send(h, '/v1/chat/completions', { model: 'gpt-audio', messages: [{ role: 'user', content: SIMPLE }], ...extra });
    const heard = [{ type: 'text', text: SIMPLE }, { type: 'input_audio', input_audio: { data: Buffer.alloc(4_800).toString('base64'), format: 'wav' } }];
    const cases: Record<string, unknown>[] = [
      { messages: [{ role: 'user', content: heard }] },
      { modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } },
      { audio: { voice: 'alloy', format: 'wav' } },
      // An earlier spoken answer, referred to by its id.
      { messages: [{ role: 'user', content: 'Say hello' }, { role: 'assistant', audio: { id: 'audio_abc' } }, { role: 'user', content: SIMPLE }] },
    ];
    for (const body of cases) {
      const res = await ask(body);
      expect([res.status, JSON.parse(res.bytes.toString()).model, res.headers[ROUTED_FROM_HEADER], res.headers[ROUTE_REASON_HEADER]]).toEqual([
        200,
        'gpt-audio',
        undefined,
        'capability=audio',
      ]);
    }
    // The control: the same question as text is routed.
    expect(JSON.parse((await ask({})).bytes.toString()).model).toBe('gpt-4o-mini');
    // Down to another audio model it goes (gpt-audio-mini, answered here by the simulator's gpt-audio).
    const { h: h2 } = await setup({ mode: 'on', thresholds: [1], ladders: { openai: ['gpt-audio', 'gpt-audio-mini'] } }, new MemoryDecisionStore(), () => ({
      models: [{ name: 'gpt-audio-mini', provider: 'openai', upstreamName: 'gpt-audio' }],
    }));
    const spoken = await send(h2, '/v1/chat/completions', { model: 'gpt-audio', messages: [{ role: 'user', content: heard }], ...cases[1] });
    expect([spoken.status, spoken.headers[ROUTED_FROM_HEADER], spoken.headers[ROUTE_REASON_HEADER]]).toEqual([200, 'gpt-audio', expect.stringMatching(/^simple; .*; tiers=1$/)]);
  });

  it('routes a Responses request continuing a stored conversation only to a model that can take all it could', async () => {
    // previous_response_id / conversation: the earlier turns are at the provider, not in the body, unmeasured.
    const { h } = await setup({ mode: 'on', thresholds: [1], ladders: { openai: ['gpt-4.1', 'gpt-4o-mini'] } });
    const ask = (extra: Record<string, unknown>) => h.openai.responses.create({ model: 'gpt-4.1', input: 'And in French?', ...extra }).withResponse();
    const prev = await ask({ previous_response_id: 'resp_68af4030592c81938ec0a5fbab4a3e9f' });
    // gpt-4o-mini's 128k window is smaller than gpt-4.1's 1M, which the stored turns may fill.
    expect([prev.data.model, prev.response.headers.get(ROUTE_REASON_HEADER)]).toEqual(['gpt-4.1', 'capability=context (previous_response_id)']);
    const conv = await ask({ conversation: 'conv_689667905b048191b4740501625afd940c7533ace33a2dab' });
    expect([conv.data.model, conv.response.headers.get(ROUTE_REASON_HEADER)]).toEqual(['gpt-4.1', 'capability=context (conversation)']);
    // A stored prompt template: its instructions, turns and tools are at the provider, its variables may be images.
    const prompt = await ask({ prompt: { id: 'pmpt_68af4030592c81938ec0a5fbab4a3e9f', variables: { photo: { type: 'input_image', image_url: 'https://example.com/a.png' } } } });
    expect([prompt.data.model, prompt.response.headers.get(ROUTE_REASON_HEADER)]).toEqual(['gpt-4.1', 'capability=context (prompt)']);
    expect((await ask({})).data.model).toBe('gpt-4o-mini');

    // Down the default ladder every model has gpt-5's capabilities and window: whatever fit gpt-5 fits them.
    const { h: h2 } = await setup({ mode: 'on' });
    const down = await h2.openai.responses.create({ model: 'gpt-5', input: SIMPLE, previous_response_id: 'resp_68af4030592c81938ec0a5fbab4a3e9f' });
    expect(down.model).toBe('gpt-5-nano');
  });

  it('routes a request with a file uploaded before (file_id) or fetched from a URL only to a model that can take all it could', async () => {
    // The file is at the provider or the URL, not in the body: its length is not measured, nor its content seen.
    const { h } = await setup({ mode: 'on', thresholds: [1], ladders: { openai: ['gpt-4.1', 'gpt-4o-mini'], anthropic: ['claude-opus-4-1', 'claude-sonnet-4-20250514'] } });
    const chat = (file: Record<string, unknown>) =>
      send(h, '/v1/chat/completions', { model: 'gpt-4.1', messages: [{ role: 'user', content: [{ type: 'file', file }, { type: 'text', text: 'Summarize this.' }] }] });
    const responses = (file: Record<string, unknown>) =>
      send(h, '/v1/responses', { model: 'gpt-4.1', input: [{ role: 'user', content: [{ type: 'input_file', ...file }, { type: 'input_text', text: 'Summarize this.' }] }] });
    const messages = (source: Record<string, unknown>) =>
      send(h, '/v1/messages', { model: 'claude-opus-4-1', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'document', source }, { type: 'text', text: 'Summarize this.' }] }] });
    const outcome = (res: Awaited<ReturnType<typeof send>>) => [JSON.parse(res.bytes.toString()).model, res.headers[ROUTE_REASON_HEADER]];
    // gpt-4o-mini's 128k window is smaller than gpt-4.1's 1M, which the file may fill; Sonnet 4 lacks Opus 4.1's structured outputs.
    expect(outcome(await chat({ file_id: 'file-6F2ksmvXxt4VdoqmHRw6kL' }))).toEqual(['gpt-4.1', 'capability=context (file_id)']);
    expect(outcome(await responses({ file_id: 'file-6F2ksmvXxt4VdoqmHRw6kL' }))).toEqual(['gpt-4.1', 'capability=context (file_id)']);
    expect(outcome(await responses({ file_url: 'https://example.com/report.pdf' }))).toEqual(['gpt-4.1', 'capability=context (file_url)']);
    expect(outcome(await messages({ type: 'file', file_id: 'file_011CNha8iCJcU1wXNR6q4V8w' }))).toEqual(['claude-opus-4-1', 'capability=context (file_id)']);
    expect(outcome(await messages({ type: 'url', url: 'https://example.com/report.pdf' }))).toEqual(['claude-opus-4-1', 'capability=context (file_url)']);
    // The control: the same file in the body is measured, and routed.
    const pdf = Buffer.from('%PDF-1.4 a short report').toString('base64');
    expect((await chat({ filename: 'report.pdf', file_data: `data:application/pdf;base64,${pdf}` })).headers[ROUTED_FROM_HEADER]).toBe('gpt-4.1');
    expect((await responses({ filename: 'report.pdf', file_data: `data:application/pdf;base64,${pdf}` })).headers[ROUTED_FROM_HEADER]).toBe('gpt-4.1');
    expect((await messages({ type: 'base64', media_type: 'application/pdf', data: pdf })).headers[ROUTED_FROM_HEADER]).toBe('claude-opus-4-1');

    // Down the default ladder every model has gpt-5's capabilities and window.
    const { h: h2 } = await setup({ mode: 'on', thresholds: [1, 1] });
    const down = await h2.openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-6F2ksmvXxt4VdoqmHRw6kL' } }, { type: 'text', text: SIMPLE }] }] });
    expect(down.model).toBe('gpt-5-nano');
  });

  it('finds a key set in routing.keys by its id, or by the prefix keys list shows', () => {
    const policy = new RoutingPolicy({ config: routingSchema.parse({ mode: 'off', keys: { 'key-1': 'on', 'gh_abc123…': 'shadow', gh_def456: 'on' } }), pricer: createPricer() });
    const key = (id: string, prefix: string) => ({ id, prefix, hash: '', userId: 'u', teamId: null, projectId: null, name: null, createdAt: 0, revokedAt: null });
    expect(policy.modeFor(key('key-1', 'gh_zzz999'))).toBe('on');
    expect(policy.modeFor(key('key-2', 'gh_abc123'))).toBe('shadow');
    expect(policy.modeFor(key('key-3', 'gh_def456'))).toBe('on');
    expect(policy.modeFor(key('key-4', 'gh_xyz000'))).toBe('off');
  });

  it('takes the mode from the key, then project, then team, then the organisation', async () => {
    const { h } = await setup({ mode: 'on', teams: { search: 'off' } });
    const bob = await h.addKey('bob', 'search');
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bob}` },
      body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: SIMPLE }] }),
    });
    expect(((await res.json()) as { model: string }).model).toBe('gpt-5');
    expect(res.headers.get(ROUTE_REASON_HEADER)).toBeNull();
  });
});

/** Asks as `key`, optionally pinned to the premium model; waits for the guard to have looked at it. */
async function asker(h: Harness, r: Routing) {
  return async (key: string, content: string, pin = false) => {
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...(pin ? { 'x-goodhart-route': 'off' } : {}) },
      body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content }] }),
    });
    const model = ((await res.json()) as { model: string }).model;
    await new Promise((resolve) => setImmediate(resolve)); // the request's tail (observers) has run
    r.guard.drain();
    return { routed: model !== 'gpt-5', reason: res.headers.get(ROUTE_REASON_HEADER) };
  };
}

describe('quality guard', () => {
  it('does not judge re-asks against a routed request the model asked for answered (the cheaper one was down)', async () => {
    const gone = { type: 'openai-compatible' as const, baseUrl: 'http://127.0.0.1:9/v1', models: ['cheap-gpt'] };
    const providers = { openai: { type: 'openai', baseUrl: 'http://sim.invalid/v1' }, anthropic: { type: 'anthropic', baseUrl: 'http://sim.invalid' }, gone };
    const routing = { mode: 'on', ladders: { house: ['gpt-5', 'cheap-gpt'] }, qualityGuard: { minMisses: 2, maxMissRate: 0.1 } };
    const models = [{ name: 'cheap-gpt', provider: 'gone', price: { input: 0.1, output: 0.4 } }];
    const r = createRouting(configSchema.parse({ providers, models, routing }), new MemoryDecisionStore(), { flushIntervalMs: 20 });
    await r.ready;
    const h = await startHarness({
      policy: r.policy,
      observers: [r.guard],
      config: (sim) => ({ providers: { openai: { type: 'openai', baseUrl: `${sim}/v1`, apiKey: 'sk-sim-openai' }, anthropic: { type: 'anthropic', baseUrl: sim, apiKey: 'sk-ant-sim' }, gone }, models }),
    });
    open.push(h, r);
    const ask = await asker(h, r);
    for (const q of ['In which year did the Berlin Wall fall, and what was the name of the country it divided?', 'Which river flows through the city of Vienna, and into which sea does it finally drain?']) {
      // cheap-gpt cannot be reached: gpt-5 answers, as asked; then the same question again, pinned to gpt-5.
      expect((await ask(h.key, q)).routed).toBe(false);
      expect((await ask(h.key, `${q} Please be precise.`, true)).routed).toBe(false);
    }
    expect(r.guard.trips(Date.now())).toEqual([]);
  });

  it('counts only deliberate re-asks: not fallbacks, requests held or kept for their own sake, nor agent steps', async () => {
    // gpt-5-mini is served through a switch that can answer 429 (rate-limited) instead of passing on to the simulator.
    const { sw, provider } = await upstreamSwitch();
    // One miss trips a class: any request wrongly taken for a re-ask shows as a trip.
    const routing = {
      mode: 'on',
      ladders: { openai: ['gpt-5', 'gpt-5-mini'] },
      thresholds: [0.35, 0.3],
      capabilities: { 'gpt-5-mini': { tools: true, vision: true, jsonSchema: true, contextTokens: 4_000 } },
      qualityGuard: { minMisses: 1, maxMissRate: 0.01 },
    };
    const { h, r, store } = await setup(routing, new MemoryDecisionStore(), (sim) => ({ providers: { cheap: provider(sim) }, models: [{ name: 'gpt-5-mini', provider: 'cheap' }] }));
    const looked = async <T>(p: Promise<{ data: T; response: Response }>) => {
      const out = await p;
      await new Promise((resolve) => setImmediate(resolve));
      r.guard.drain();
      return { data: out.data, routedFrom: out.response.headers.get(ROUTED_FROM_HEADER), reason: out.response.headers.get(ROUTE_REASON_HEADER) };
    };
    const chat = (body: Record<string, unknown>, pin = false) =>
      looked(h.openai.chat.completions.create({ model: 'gpt-5', ...body } as never, pin ? { headers: { 'x-goodhart-route': 'off' } } : {}).withResponse() as never) as Promise<{
        data: { model: string };
        routedFrom: string | null;
        reason: string | null;
      }>;

    // The cheaper model is rate-limited: the same scheduled questions, asked again, are served by gpt-5 as asked.
    const job = ['Translate this sentence into French: the weather is lovely today', 'Summarize in one line: the meeting moved to Thursday afternoon'];
    for (const q of job) expect((await chat({ messages: [{ role: 'user', content: q }] })).routedFrom).toBe('gpt-5');
    sw.fail.set('*', 429);
    for (const q of job) expect((await chat({ messages: [{ role: 'user', content: q }] })).data.model).toBe('gpt-5');
    sw.fail.clear();
    expect(r.guard.trips(Date.now())).toEqual([]);

    // An agent loop: step 1 (tools) is routed; step 2 (the tool's result) scores complex and stays on gpt-5, and a
    // client that pins its follow-up steps pins step 2: the user text is the turn's, carried forward.
    const q = 'What is the weather in Paris today, and should I take an umbrella?';
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const call = { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] };
    expect((await chat({ tools, messages: [{ role: 'user', content: q }] })).routedFrom).toBe('gpt-5');
    const step2 = { tools, messages: [{ role: 'user', content: q }, call, { role: 'tool', tool_call_id: 'c1', content: 'Rain, 14 C' }] };
    expect((await chat(step2)).reason).toMatch(/^complex;/);
    expect((await chat(step2, true)).reason).toBe('pinned');
    expect(r.guard.trips(Date.now())).toEqual([]);
    const rtools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }];
    const respond = (input: unknown[], pin = false) =>
      looked(h.openai.responses.create({ model: 'gpt-5', tools: rtools, input } as never, pin ? { headers: { 'x-goodhart-route': 'off' } } : {}).withResponse() as never) as Promise<{ routedFrom: string | null; reason: string | null }>;
    const rq = 'Is it going to snow in Oslo tomorrow morning, and how cold will it be?';
    expect((await respond([{ role: 'user', content: rq }])).routedFrom).toBe('gpt-5');
    const rstep2 = [{ role: 'user', content: rq }, { type: 'function_call', call_id: 'c2', name: 'get_weather', arguments: '{"city":"Oslo"}' }, { type: 'function_call_output', call_id: 'c2', output: 'Snow, -4 C' }];
    expect((await respond(rstep2)).reason).toMatch(/^complex;/);
    expect((await respond(rstep2, true)).reason).toBe('pinned');
    expect(r.guard.trips(Date.now())).toEqual([]);

    // The same instruction over documents: a short one is routed, one too big for gpt-5-mini's window is held.
    const doc = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `Entry ${i}: ${tag} shipment arrived at the warehouse on schedule.`).join('\n');
    const instruction = 'Capitalize the title of this shipment log please';
    expect((await chat({ messages: [{ role: 'system', content: doc(5, 'short') }, { role: 'user', content: instruction }] })).routedFrom).toBe('gpt-5');
    expect((await chat({ messages: [{ role: 'system', content: doc(200, 'long') }, { role: 'user', content: instruction }] })).reason).toBe('capability=context');

    expect(r.guard.trips(Date.now())).toEqual([]);
    await r.writer.flush();
    expect(store.rows.filter((d) => d.missAt !== null)).toEqual([]);

    // The control: a routed question asked again, pinned to gpt-5, is a miss (and with one allowed, stops the class).
    const asked = 'In which year did the Berlin Wall fall, and what was the name of the country it divided?';
    expect((await chat({ messages: [{ role: 'user', content: asked }] })).routedFrom).toBe('gpt-5');
    expect((await chat({ messages: [{ role: 'user', content: `${asked} Please be precise.` }] }, true)).reason).toBe('pinned');
    expect(r.guard.trips(Date.now())).toEqual([expect.objectContaining({ teamId: 'platform', misses: 1 })]);
  });

  it('remembers across a restart: the period’s misses count on, and a stopped class stays stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-guard-'));
    const db = join(dir, 'goodhart.db');
    const guard = { mode: 'on', qualityGuard: { minMisses: 2, maxMissRate: 0.1 } };
    const questions = [
      'In which year did the Berlin Wall fall, and what was the name of the country it divided?',
      'Which river flows through the city of Vienna, and into which sea does it finally drain?',
    ];
    const next = 'Which planet in the solar system has the most moons, and what is the largest of them called?';
    try {
      // First run: one miss (not enough to trip). The gateway stops; its decisions are in the file.
      const first = await setup(guard, new SqliteDecisionStore(db));
      let ask = await asker(first.h, first.r);
      expect((await ask(first.h.key, questions[0]!)).routed).toBe(true);
      expect((await ask(first.h.key, `${questions[0]} Please be precise.`, true)).routed).toBe(false);
      expect(first.r.guard.trips(Date.now())).toEqual([]);
      for (const x of open.splice(0).reverse()) await x.close();

      // Second run on the same file: the earlier miss still counts, so the second trips the class.
      const second = await setup(guard, new SqliteDecisionStore(db));
      ask = await asker(second.h, second.r);
      expect((await ask(second.h.key, questions[1]!)).routed).toBe(true);
      expect((await ask(second.h.key, `${questions[1]} Please be precise.`, true)).routed).toBe(false);
      expect(second.r.guard.trips(Date.now())).toEqual([expect.objectContaining({ teamId: 'platform', taskClass: 'chat', misses: 2, routed: 2 })]);
      for (const x of open.splice(0).reverse()) await x.close();

      // Third run: the trip was written; the class stays stopped for the team without a new miss.
      const third = await setup(guard, new SqliteDecisionStore(db));
      ask = await asker(third.h, third.r);
      expect(third.r.guard.trips(Date.now())).toEqual([expect.objectContaining({ teamId: 'platform', taskClass: 'chat', misses: 2 })]);
      expect(await ask(third.h.key, next)).toEqual({ routed: false, reason: 'guard; class=chat' });

      // …and says so where people look: routing savings and findings (where routing is configured).
      const stopped = /^Routing stopped for team platform, chat requests: 2 of 2 routed were asked again on the premium model; they go to the model asked for until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(quality guard\)\.$/m;
      expect(await runRoutingSavings({ db })).toMatch(stopped);
      expect(JSON.parse(await runRoutingSavings({ db, json: true })).stopped).toEqual([expect.objectContaining({ teamId: 'platform', taskClass: 'chat', misses: 2, routed: 2 })]);
      expect(await runRoutingSavings({ db, team: 'search' })).not.toMatch(/Routing stopped/);
      const config = join(dir, 'goodhart.yaml');
      writeFileSync(config, 'routing: { mode: shadow, teams: { platform: on } }\n');
      expect(await runFindings({ db, config })).toMatch(stopped);
      writeFileSync(config, 'routing: { mode: off }\n');
      expect(await runFindings({ db, config })).not.toMatch(/Routing stopped/);
    } finally {
      for (const x of open.splice(0).reverse()) await x.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts re-asks on the premium model as misses and stops routing that class for that team', async () => {
    const { h, r, store } = await setup({ mode: 'on', qualityGuard: { minMisses: 2, maxMissRate: 0.1 } });
    const ask = await asker(h, r);
    const bob = await h.addKey('bob', 'search');
    const other = 'Who wrote the novel One Hundred Years of Solitude, and where was the author born?';
    const questions = [
      'In which year did the Berlin Wall fall, and what was the name of the country it divided?',
      'Which river flows through the city of Vienna, and into which sea does it finally drain?',
    ];

    // Not misses: a different question on premium, and someone else re-asking.
    expect((await ask(h.key, other)).routed).toBe(true);
    await ask(h.key, 'Tell me a joke about databases and the people who run them', true);
    await ask(bob, other, true);
    expect(r.guard.trips(Date.now())).toEqual([]);

    for (const q of questions) {
      expect((await ask(h.key, q)).routed).toBe(true);
      expect((await ask(h.key, `${q} Please be precise.`, true)).routed).toBe(false);
    }
    const trips = r.guard.trips(Date.now());
    expect(trips).toEqual([expect.objectContaining({ teamId: 'platform', taskClass: 'chat', misses: 2, routed: 3 })]);

    // Alice's team no longer gets that class routed; Bob's team still does.
    const next = 'Which planet in the solar system has the most moons, and what is the largest of them called?';
    expect(await ask(h.key, next)).toEqual({ routed: false, reason: 'guard; class=chat' });
    expect((await ask(bob, next)).routed).toBe(true);

    await r.writer.flush();
    const missed = store.rows.filter((d) => d.missAt !== null);
    expect(missed.map((d) => [d.userId, d.taskClass])).toEqual([
      ['alice', 'chat'],
      ['alice', 'chat'],
    ]);
  });
});

describe('routing config at start', () => {
  it('refuses a ladder model no provider serves, one served on another API, or one without a price', () => {
    const config = configSchema.parse({
      providers: { local: { type: 'openai-compatible', baseUrl: 'http://localhost:8000/v1', models: ['big-model'] } },
      models: [{ name: 'big-model', provider: 'local', price: { input: 1, output: 2 } }],
      routing: { mode: 'on', ladders: { local: ['big-model', 'small-model'] } },
    });
    expect(() => createRouting(config, new MemoryDecisionStore())).toThrow(/^invalid configuration:\n  routing\.ladders\.local\[1\]: no configured provider serves "small-model"\. Fix the name/);

    // Through the file: with its name and line, and the model a misspelt name most likely meant.
    const file = (ladders: string) => `providers:
  openai: { type: openai, baseUrl: "http://127.0.0.1:9/v1" }
  anthropic: { type: anthropic, baseUrl: "http://127.0.0.1:9" }
routing:
  mode: shadow
  ladders:
${ladders}
`;
    const load = (ladders: string) => () => parseConfig(file(ladders), 'goodhart.yaml', {}, 'serve', [ladderProblems]);
    // The openai provider's gpt-* pattern serves any gpt- name: the price is what tells a typo.
    expect(load('    openai: [gpt-5, gpt-5-nanoo]')).toThrow(
      /^goodhart\.yaml: invalid configuration:\n  routing\.ladders\.openai\[1\] \(line 7\): "gpt-5-nanoo" has no price .* Did you mean "gpt-5-nano"\? Fix the name, or give it a price under `models:`/,
    );
    expect(load('    openai:\n      - gpt-5-ultra\n      - gpt-5-mini')).toThrow(/\n  routing\.ladders\.openai\[0\] \(line 8\): "gpt-5-ultra" has no price/);
    expect(load('    openai: [gpt-5, claude-haiku-4-5]\n    anthropic: [claude-opus-4-1, claude-sonnet-4-5]')).toThrow(
      /\n  routing\.ladders\.openai\[1\] \(line 7\): "claude-haiku-4-5" is served on the Anthropic Messages API and "gpt-5" on the OpenAI API: .* Put it on a ladder of its own API\.$/,
    );
    expect(load('    openai: [gpt-5, gpt-5-mini]')().routing.ladders).toEqual({ openai: ['gpt-5', 'gpt-5-mini'] });
    // A default ladder of a provider not configured routes nothing and is no mistake.
    expect(() => parseConfig('providers:\n  openai: { type: openai, baseUrl: "http://127.0.0.1:9/v1" }\nrouting: { mode: on }\n', 'g.yaml', {}, 'serve', [ladderProblems])).not.toThrow();
  });
});

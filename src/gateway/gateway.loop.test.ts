import { createServer } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey } from '../keys/keys.js';
import { startHarness, type Harness } from '../testing/harness.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A gateway whose provider is the gateway itself: what OPENAI_BASE_URL and a Goodhart key exported in the shell that
 * runs `serve` make. One request used to come back about ten thousand times before sockets ran out.
 */
let looped: Harness;
let requests = 0;
/** Two gateways chained on purpose: a team's in front of the company's. */
let company: Harness;
let team: Harness;

beforeAll(async () => {
  const port = await freePort();
  const providerKey = newKey({ userId: 'provider', teamId: 'platform' });
  looped = await startHarness({
    port,
    config: (simUrl) => ({
      providers: {
        openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' },
        self: { type: 'openai-compatible', baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: providerKey.key, models: ['looped-*'] },
      },
      models: [{ name: 'looped-model', provider: 'self', price: { input: 1, output: 2 } }],
    }),
  });
  await looped.store.createKey(providerKey.record);
  await looped.gateway.keys.refresh();
  looped.gateway.app.server.on('request', () => requests++);

  company = await startHarness();
  team = await startHarness({
    config: () => ({ providers: { company: { type: 'openai-compatible', baseUrl: `${company.url}/v1`, apiKey: company.key, models: ['gpt-*'] } } }),
  });
});
afterAll(async () => {
  await Promise.all([looped.close(), company.close(), team.close()]);
});

describe('a provider that points back at the gateway', () => {
  it('is refused on its first return with a 508 that says what to fix, not forwarded again', async () => {
    requests = 0;
    const err = await looped.openai.chat.completions.create({ model: 'looped-model', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(508);
    expect(String(err)).toMatch(/came back to the Goodhart gateway that forwarded it.*OPENAI_BASE_URL/);
    expect(requests).toBe(2);
    const events = (await looped.events()).filter((e) => e.modelRequested === 'looped-model');
    expect(events.map((e) => [e.userId, e.status])).toEqual([['alice', 508]]);
  });

  it('lists models without asking itself again', async () => {
    requests = 0;
    const ids = (await looped.openai.models.list()).data.map((m) => m.id);
    expect(ids).toContain('looped-model');
    expect(ids).toContain('gpt-4o-mini');
    expect(requests).toBe(2);
  });
});

describe('gateways chained on purpose', () => {
  it('forward and meter in both', async () => {
    const res = await team.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const [outer] = (await team.events()).slice(-1);
    const [inner] = (await company.events()).slice(-1);
    expect([outer!.status, outer!.inputTokens, inner!.status, inner!.inputTokens]).toEqual([200, res.usage!.prompt_tokens, 200, res.usage!.prompt_tokens]);
  });
});

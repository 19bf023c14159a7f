import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * A provider whose apiKey is empty (`${OPENAI_API_KEY:-}` from `goodhart init`, the variable unset): its 401 ("You
 * didn't provide an API key") told the client to fix a key that was fine. The client gets the same status, in its
 * own format, saying the gateway's key for the provider is missing; a provider that refuses a key it was sent still
 * has its own answer passed through.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    config: (simUrl) => ({
      providers: {
        openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: '' },
        anthropic: { type: 'anthropic', baseUrl: simUrl, apiKey: '' },
        wrong: { type: 'openai-compatible', baseUrl: `${simUrl}/v1`, apiKey: 'sk-not-the-sims' },
      },
    }),
  });
});
afterAll(async () => {
  await h.close();
});

describe("a provider's 401 when the gateway has no key for it", () => {
  it('OpenAI SDK: 401 AuthenticationError naming the provider and the empty apiKey', async () => {
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: h.key, maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const e = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(e.status).toBe(401);
    expect(e.message).toMatch(/Provider "openai" answered 401 because the gateway has no API key for it: providers\.openai\.apiKey in the gateway's config is empty .* Your Goodhart key was accepted/);
    expect(e.message).not.toMatch(/You didn't provide an API key/);
  });

  it('Anthropic SDK: the same, in Anthropic format', async () => {
    const client = new Anthropic({ baseURL: h.url, apiKey: h.key, maxRetries: 0 });
    const err = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    const e = err as InstanceType<typeof Anthropic.AuthenticationError>;
    expect((e.error as { error?: { type?: string } }).error?.type).toBe('authentication_error');
    expect(JSON.stringify(e.error)).toMatch(/Provider \\"anthropic\\" answered 401 because the gateway has no API key for it/);
  });

  it('a key the provider refuses is still its own answer, passed through', async () => {
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: h.key, maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'wrong/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as Error).message).toMatch(/Incorrect API key provided/);
  });
});

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../store/open.js';
import { runDemo } from './demo.js';

/** Published prices, USD per million tokens (anthropic.com/pricing, openai.com/api/pricing), written out by hand. */
const PRICES = {
  'claude-sonnet-4-5-20250929': { input: 3, output: 15 },
  'claude-haiku-4-5-20251001': { input: 1, output: 5 },
  'claude-opus-4-1-20250805': { input: 15, output: 75 },
  'gpt-5-2025-08-07': { input: 1.25, output: 10 },
  'gpt-5-codex': { input: 1.25, output: 10 },
} as const;
type Name = keyof typeof PRICES;

describe('the demo serves the model names Claude Code and Codex send', () => {
  it('answers dated snapshots and Codex models under the name asked for, metered at the catalogue price', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-demo-'));
    const started = Date.now();
    const demo = await runDemo({ port: 0, db: join(dir, 'demo.db'), log: () => {}, initialRequests: 0, intervalMs: 0 });
    const usage = new Map<Name, { input: number; output: number }>();
    try {
      // alan is a senior: his role includes the premium tier (claude-opus-*, gpt-5*), which ada's does not.
      const anthropic = new Anthropic({ baseURL: demo.url, apiKey: demo.keys.alan!, maxRetries: 0 });
      const openai = new OpenAI({ baseURL: `${demo.url}/v1`, apiKey: demo.keys.alan!, maxRetries: 0 });
      for (const model of ['claude-sonnet-4-5-20250929', 'claude-haiku-4-5-20251001', 'claude-opus-4-1-20250805'] as const) {
        const res = await anthropic.messages.create({ model, max_tokens: 200, messages: [{ role: 'user', content: 'Name a sorting algorithm.' }] });
        expect(res.model).toBe(model);
        usage.set(model, { input: res.usage.input_tokens, output: res.usage.output_tokens });
      }
      for (const model of ['gpt-5-2025-08-07', 'gpt-5-codex'] as const) {
        const res = await openai.responses.create({ model, input: 'Write a one-line shell command that counts files.' });
        expect(res.model).toBe(model);
        usage.set(model, { input: res.usage!.input_tokens, output: res.usage!.output_tokens });
      }
    } finally {
      await demo.stop();
    }
    const store = await openStore(join(dir, 'demo.db'));
    // The demo's made-up history is stored with its start; these are the requests since.
    const events = await store.listEvents({ since: started });
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    expect(events).toHaveLength(5);
    for (const [model, u] of usage) {
      const ev = events.find((e) => e.modelRequested === model);
      expect(ev, model).toMatchObject({ status: 200, modelServed: model, inputTokens: u.input, outputTokens: u.output });
      expect(ev!.costUsd, model).toBeCloseTo((u.input * PRICES[model].input + u.output * PRICES[model].output) / 1e6, 12);
    }
  }, 30_000);
});

import { describe, expect, it } from 'vitest';
import { configFromEnv, parseConfig } from '../../config/load.js';
import { GoodhartError } from '../../errors.js';
import { ModelRouter } from '../../gateway/router.js';
import { upstreamError } from '../../gateway/upstream.js';
import { clientsLine, providersLine } from './serve.js';

describe('goodhart serve without providers', () => {
  const empty = parseConfig('server: { port: 8787 }', 'goodhart.yaml', {});

  it('with a config file, says the file declares none and that OPENAI_API_KEY is not read then', () => {
    const line = providersLine(empty, 'goodhart.yaml');
    expect(line).toBe(
      '  WARNING: goodhart.yaml declares no providers, so every model request gets 404. Add them under `providers:` (`goodhart init` writes an example); OPENAI_API_KEY and ANTHROPIC_API_KEY are read only when there is no config file.',
    );
    expect(providersLine(empty, undefined)).toMatch(/^ {2}WARNING: no provider configured\. Set OPENAI_API_KEY \/ ANTHROPIC_API_KEY/);
  });

  it('answers a model request with a 404 whose advice holds with a config file too', () => {
    expect(() => new ModelRouter(empty).resolve('gpt-4o', 'openai')).toThrow(
      /no provider configured\. Whoever runs it: with a config file, declare providers under `providers:` in it \(OPENAI_API_KEY and ANTHROPIC_API_KEY are read only when there is no config file\)/,
    );
  });
});

describe('goodhart serve with one provider from the environment (OPENAI_* only)', () => {
  const config = configFromEnv({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
  const router = new ModelRouter(config);
  const refusal = (model: string, wire: 'openai' | 'anthropic') => {
    try {
      router.resolve(model, wire);
    } catch (err) {
      return err as GoodhartError;
    }
    throw new Error(`${model} was served`);
  };

  it('a Claude model says no Anthropic provider is configured and what sets one up, not a prefix that leads to a 400', () => {
    const err = refusal('claude-sonnet-4-5', 'anthropic');
    expect([err.httpStatus, err.code]).toEqual([404, 'model_not_found']);
    expect(err.message).toContain('no Anthropic provider (configured: openai (openai))');
    expect(err.message).toContain('set ANTHROPIC_API_KEY');
    expect(err.message).not.toContain('openai/claude');
    // Asked on the OpenAI wire, the same: it is the provider that is missing.
    expect(refusal('claude-sonnet-4-5', 'openai').message).toContain('no Anthropic provider');
    // Any other name on the Anthropic API: no provider speaks it; no prefix to suggest.
    const other = refusal('mistral-large', 'anthropic');
    expect(other.message).toContain('no configured provider speaks the Anthropic Messages API');
    expect(other.message).not.toContain('openai/mistral-large');
    // On the OpenAI API the prefix still helps.
    expect(refusal('mistral-large', 'openai').message).toContain('like "openai/mistral-large"');
  });

  it('prints only the OpenAI base URL for clients', () => {
    expect(clientsLine(config, 'http://127.0.0.1:8787')).toBe('  OpenAI SDKs: OPENAI_BASE_URL=http://127.0.0.1:8787/v1');
    expect(clientsLine(parseConfig('server: { port: 8787 }', 'goodhart.yaml', {}), 'http://x')).toBeNull();
    const both = configFromEnv({ OPENAI_API_KEY: 'sk', ANTHROPIC_API_KEY: 'sk-ant' });
    expect(clientsLine(both, 'http://h')).toBe('  OpenAI SDKs: OPENAI_BASE_URL=http://h/v1   Anthropic SDKs, Claude Code: ANTHROPIC_BASE_URL=http://h');
  });

  it('an unreachable provider names OPENAI_BASE_URL when that is where its address came from, the config path otherwise', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const fromEnv = upstreamError(refused, router.list()[0]!, 1000) as GoodhartError;
    expect(fromEnv.httpStatus).toBe(502);
    expect(fromEnv.message).toContain('operators should check OPENAI_BASE_URL and the network');
    const file = parseConfig('providers: { oai: { type: openai, baseUrl: "http://127.0.0.1:9/v1" } }', 'goodhart.yaml', {});
    const fromFile = upstreamError(refused, new ModelRouter(file).list()[0]!, 1000) as GoodhartError;
    expect(fromFile.message).toContain('operators should check providers.oai.baseUrl and the network');
  });
});

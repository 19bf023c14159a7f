import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { ModelRouter } from '../../gateway/router.js';
import { providersLine } from './serve.js';

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

import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from './load.js';
import { CONFIG_TEMPLATE } from './template.js';

/**
 * The published schema accepts what the loader accepts: where a number or true/false is expected, a `${…}` string
 * too (README: `port: ${PORT:-8787}`), so an editor validating against it does not flag a config that loads.
 */
const published = JSON.parse(readFileSync(new URL('../../schema/goodhart.schema.json', import.meta.url), 'utf8')) as object;
// Ajv is fastify's validator; its formats (uri…) are not the point here.
const validate = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false, validateFormats: false, allErrors: true }).compile(published);

const withReferences = `
server:
  port: \${PORT:-8787}
  trustProxy: \${TRUST_PROXY:-false}
providers:
  openai: { type: openai, baseUrl: "https://api.openai.com/v1", apiKey: "\${OPENAI_API_KEY:-}" }
budgets:
  - id: org
    scope: org
    amount: \${AMT:-5}
    period: month
    thresholds:
      - \${FIRST:-50}
      - 100
`;

describe('the published JSON Schema', () => {
  it('accepts the template and ${…} where a number or true/false is expected, as the loader does', () => {
    expect(validate(parse(CONFIG_TEMPLATE) as unknown), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(parse(withReferences) as unknown), JSON.stringify(validate.errors)).toBe(true);
    const cfg = parseConfig(withReferences, 'goodhart.yaml', {}, 'read');
    expect([cfg.server.port, cfg.budgets[0]!.amount, cfg.budgets[0]!.thresholds[0]]).toEqual([8787, 5, 50]);
  });

  it('still refuses text that is not a reference where a number is expected', () => {
    expect(validate(parse('server: { port: "eighty" }') as unknown)).toBe(false);
    expect(validate(parse('server: { port: 70000 }') as unknown)).toBe(false);
  });
});

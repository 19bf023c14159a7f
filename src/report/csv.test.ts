import { describe, expect, it } from 'vitest';
import type { UsageAggregate } from '../store/types.js';
import { plainDecimal, toCsv } from './csv.js';

const row = (key: string, costUsd: number): UsageAggregate => ({
  key,
  requests: 1,
  inputTokens: 10,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 2,
  reasoningTokens: 0,
  costUsd,
  unpricedRequests: 0,
  estimatedRequests: 0,
  firstAt: Date.parse('2026-10-01T00:00:00Z'),
  lastAt: Date.parse('2026-10-01T00:00:00Z'),
  models: ['gpt-4o-mini'],
});

describe('toCsv', () => {
  it('prints costs as plain decimals, never in exponent notation', () => {
    expect([6e-8, 0.00000006000000001, 1e-9, 0.25, 2092592.5757, 0, 1e9].map(plainDecimal)).toEqual(['0.00000006', '0.00000006', '0.000000001', '0.25', '2092592.5757', '0', '1000000000']);
    const lines = toCsv([row('tiny', 6e-8), row('big', 2092592.5757)], 'Model').split('\r\n');
    expect(lines[1]).toBe('tiny,1,10,0,0,0,2,0,0.00000006,0,0,2026-10-01T00:00:00.000Z,2026-10-01T00:00:00.000Z,gpt-4o-mini');
    expect(lines[2]).toContain(',2092592.5757,');
    expect(lines.join('\n')).not.toMatch(/\de-\d/);
  });
});

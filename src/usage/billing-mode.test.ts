import { describe, expect, it } from 'vitest';
import { isStandard, priceMultiplier } from './billing-mode.js';

describe('priceMultiplier: the one rule for tiers, fast mode and batch', () => {
  it('OpenAI: flex and batch at half, priority at the published premium of the model, default at 1', () => {
    expect(priceMultiplier({ serviceTier: 'flex' }, 'openai', 'gpt-5')).toBe(0.5);
    expect(priceMultiplier({ batch: true }, 'openai', 'gpt-4o')).toBe(0.5);
    expect(priceMultiplier({ serviceTier: 'default' }, 'openai', 'gpt-5')).toBe(1);
    expect(priceMultiplier(undefined, 'openai', 'gpt-5')).toBe(1);
    // gpt-5: $2.50 / $0.25 / $20 priority against $1.25 / $0.125 / $10.
    expect(priceMultiplier({ serviceTier: 'priority' }, 'openai', 'gpt-5')).toBe(2);
    expect(priceMultiplier({ serviceTier: 'fast' }, 'openai', 'gpt-5')).toBe(2);
    // Dated snapshots and the Codex models are their base model; gpt-5-mini is not gpt-5.
    expect(priceMultiplier({ serviceTier: 'priority' }, 'openai', 'gpt-5-2025-08-07')).toBe(2);
    expect(priceMultiplier({ serviceTier: 'priority' }, 'openai', 'gpt-5-codex')).toBe(2);
    expect(priceMultiplier({ serviceTier: 'priority' }, 'openai', 'gpt-5-mini')).toBe(1.8);
    expect(priceMultiplier({ serviceTier: 'priority' }, 'openai', 'gpt-4o')).toBe(1.7);
    expect(priceMultiplier({ serviceTier: 'priority' }, 'openai', 'gpt-5.5')).toBe(2.5);
    expect(priceMultiplier({ serviceTier: 'priority' }, 'openai', 'o4-mini') * 1.1).toBeCloseTo(2, 12);
    // A model the table does not list: 2×.
    expect(priceMultiplier({ serviceTier: 'priority' }, 'openai', 'gpt-9')).toBe(2);
  });

  it('Anthropic: fast mode at the model premium (Opus 4.6: 6×), batch at half, Priority Tier at the standard rate', () => {
    expect(priceMultiplier({ speed: 'fast' }, 'anthropic', 'claude-opus-4-6')).toBe(6);
    expect(priceMultiplier({ speed: 'fast', serviceTier: 'standard' }, 'anthropic', 'claude-opus-5')).toBe(2);
    expect(priceMultiplier({ speed: 'standard' }, 'anthropic', 'claude-opus-4-6')).toBe(1);
    expect(priceMultiplier({ serviceTier: 'batch' }, 'anthropic', 'claude-sonnet-4-6')).toBe(0.5);
    expect(priceMultiplier({ serviceTier: 'priority' }, 'anthropic', 'claude-sonnet-4-6')).toBe(1);
  });

  it('applies one provider’s rule to that provider only', () => {
    expect(priceMultiplier({ serviceTier: 'flex' }, 'anthropic', 'claude-opus-4-6')).toBe(1);
    expect(priceMultiplier({ speed: 'fast' }, 'openai', 'gpt-5')).toBe(1);
    expect(priceMultiplier({ serviceTier: 'priority' }, 'vllm', 'gpt-5')).toBe(1);
  });

  it('knows the standard tier without looking it up', () => {
    expect(isStandard(undefined)).toBe(true);
    expect(isStandard({ serviceTier: 'default' })).toBe(true);
    expect(isStandard({ serviceTier: 'standard', speed: 'standard' })).toBe(true);
    expect(isStandard({ serviceTier: 'flex' })).toBe(false);
    expect(isStandard({ speed: 'fast' })).toBe(false);
    expect(isStandard({ batch: true })).toBe(false);
  });
});

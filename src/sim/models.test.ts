import { calcPrice } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { SIM_MODELS } from './index.js';

describe('SIM_MODELS', () => {
  it('are all priced by the price catalogue, under their own provider', () => {
    for (const model of SIM_MODELS) {
      const price = calcPrice({ input_tokens: 1_000_000, output_tokens: 0 }, model.id, { providerId: model.provider });
      expect(price, model.id).toBeTruthy();
      expect(price?.total_price, model.id).toBeGreaterThan(0);
    }
  });

  it('flag OpenAI reasoning models by the o1/o3/o4/gpt-5 prefix rule', () => {
    for (const model of SIM_MODELS.filter((m) => m.provider === 'openai')) {
      expect(model.reasoning, model.id).toBe(/^(o1|o3|o4|gpt-5)/.test(model.id));
    }
  });

  it('have unique ids', () => {
    expect(new Set(SIM_MODELS.map((m) => m.id)).size).toBe(SIM_MODELS.length);
  });
});

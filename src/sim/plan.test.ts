import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { parseDirectives } from './directives.js';
import { SimError } from './errors.js';
import { Lru } from './lru.js';
import { planOutput, type PlanRequest } from './plan.js';
import { chunkPieces, generatePieces, WORDS } from './prose.js';

describe('prose', () => {
  it('has a usable word list', () => {
    expect(WORDS.length).toBeGreaterThan(150);
  });

  it('produces exactly N tokens as gpt-tokenizer counts them, for many seeds and lengths', () => {
    for (let seed = 1; seed <= 40; seed++) {
      for (const n of [0, 1, 2, 3, 7, 20, 64, 129, 400]) {
        const text = generatePieces(seed * 7919, n).join('');
        expect(countTokens(text), `seed ${seed} n ${n}: ${text}`).toBe(n);
      }
    }
  });

  it('chunks into 1 to 4 tokens that concatenate back to the text', () => {
    const pieces = generatePieces(42, 200);
    const chunks = chunkPieces(42, pieces);
    expect(chunks.join('')).toBe(pieces.join(''));
    for (const chunk of chunks) {
      const n = countTokens(chunk);
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(4);
    }
  });

  it('reads like sentences: capitalised start, ends with a full stop', () => {
    const text = generatePieces(3, 60).join('');
    expect(text).toMatch(/^[A-Z]/);
    expect(text.endsWith('.')).toBe(true);
  });
});

const base: PlanRequest = {
  seed: 0,
  model: 'gpt-4o',
  fingerprint: 'hello',
  inputTokens: 10,
  maxTokens: undefined,
  directives: {},
  tool: undefined,
  hiddenReasoning: undefined,
  thinkingBudget: undefined,
  stop: [],
};

describe('planOutput', () => {
  it('is deterministic per seed and prompt, and different across prompts', () => {
    expect(planOutput(base).text).toBe(planOutput(base).text);
    expect(planOutput({ ...base, fingerprint: 'other' }).text).not.toBe(planOutput(base).text);
    expect(planOutput({ ...base, seed: 1 }).text).not.toBe(planOutput(base).text);
  });

  it('defaults to 20-400 tokens', () => {
    for (let i = 0; i < 50; i++) {
      const plan = planOutput({ ...base, fingerprint: `p${i}`, inputTokens: i * 100 });
      expect(plan.textTokens).toBeGreaterThanOrEqual(20);
      expect(plan.textTokens).toBeLessThanOrEqual(400);
      expect(plan.textTokens).toBe(countTokens(plan.text));
    }
  });

  it('honours tokens=N and caps at max tokens with finish "length"', () => {
    expect(planOutput({ ...base, directives: { tokens: 33 } })).toMatchObject({ textTokens: 33, outputTokens: 33, finish: 'stop' });
    expect(planOutput({ ...base, directives: { tokens: 33 }, maxTokens: 10 })).toMatchObject({ textTokens: 10, finish: 'length' });
  });

  it('counts hidden reasoning inside the cap', () => {
    const plan = planOutput({ ...base, hiddenReasoning: { effort: undefined }, directives: { tokens: 50 }, maxTokens: 60 });
    expect(plan.reasoningTokens).toBe(30);
    expect(plan.textTokens).toBe(30);
    expect(plan.outputTokens).toBe(60);
    expect(plan.finish).toBe('length');
    const low = planOutput({ ...base, hiddenReasoning: { effort: 'low' } }).reasoningTokens;
    const high = planOutput({ ...base, hiddenReasoning: { effort: 'high' } }).reasoningTokens;
    expect(high).toBe(low * 4);
  });

  it('cuts at the earliest stop sequence and recounts the emitted text', () => {
    const plan = planOutput({ ...base, directives: { tokens: 80 }, stop: ['.'] });
    expect(plan.finish).toBe('stop_sequence');
    expect(plan.stopSequence).toBe('.');
    expect(plan.text).not.toContain('.');
    expect(plan.textChunks.join('')).toBe(plan.text);
    expect(plan.textTokens).toBe(countTokens(plan.text));
  });

  it('builds tool arguments from the schema and bills their tokens', () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] }, days: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
    };
    const plan = planOutput({ ...base, tool: { name: 'get_weather', schema } });
    const args = JSON.parse(plan.toolCall?.arguments ?? '') as Record<string, unknown>;
    expect(Object.keys(args)).toEqual(['city', 'unit', 'days', 'tags']);
    expect(args.unit).toBe('c');
    expect(plan.toolCall?.fragments.join('')).toBe(plan.toolCall?.arguments);
    expect(plan.outputTokens).toBe(countTokens(plan.toolCall?.arguments ?? ''));
    expect(plan.finish).toBe('tool');
  });

  it('bills visible thinking within the budget', () => {
    const plan = planOutput({ ...base, thinkingBudget: 1024, directives: { tokens: 12 }, maxTokens: 4000 });
    expect(plan.thinking?.tokens).toBe(countTokens(plan.thinking?.text ?? ''));
    expect(plan.thinking?.chunks.join('')).toBe(plan.thinking?.text);
    expect(plan.outputTokens).toBe((plan.thinking?.tokens ?? 0) + 12);
  });
});

describe('parseDirectives', () => {
  it('reads every key, anywhere in the text, several blocks merged', () => {
    expect(parseDirectives('hello [[sim:status=503, retry-after=4]] and [[sim:ttft=20,itl=5,tokens=9,die-after=2,hang]]')).toEqual({
      status: 503,
      retryAfter: 4,
      ttftMs: 20,
      itlMs: 5,
      tokens: 9,
      dieAfter: 2,
      hang: true,
    });
    expect(parseDirectives('no directive here')).toEqual({});
  });

  it('rejects unknown keys and bad values with a 400 that names the fix', () => {
    expect(() => parseDirectives('[[sim:stauts=500]]')).toThrow(/Unknown sim directive "stauts".*known: status/);
    expect(() => parseDirectives('[[sim:status=200]]')).toThrow(SimError);
    expect(() => parseDirectives('[[sim:tokens=-1]]')).toThrow(/integer from 0/);
  });
});

describe('Lru', () => {
  it('evicts the least recently used by weight', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    lru.get('a');
    lru.set('d', 4);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.size).toBe(3);
  });
});

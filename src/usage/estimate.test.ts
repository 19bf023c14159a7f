import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_IMAGE_TOKENS,
  countTextTokens,
  estimateAnthropicInput,
  estimateEmbeddingsInput,
  estimateOpenAIChatInput,
  estimateResponsesInput,
  MAX_ESTIMATE_CHARS,
  OPENAI_IMAGE_TOKENS,
  OPENAI_IMAGE_TOKENS_LOW,
} from './estimate.js';

// o200k_base counts of the strings used below, checked once here so the body tests can add them up by hand.
const TOKENS: Record<string, number> = {
  'Hello, world!': 4,
  user: 1,
  system: 1,
  assistant: 1,
  tool: 1,
  'You are terse.': 4,
  'What is 2+2?': 7,
  get_weather: 2,
  '{"city":"Paris"}': 5,
  alice: 1,
  'Describe this image.': 4,
  'Sunny, 21°C': 5,
  'Be brief.': 3,
  lookup: 1,
  '{"q":"x"}': 5,
  'found 3 rows': 4,
  'The quick brown fox': 4,
  'jumps over the lazy dog': 6,
  'hello world': 2,
  'A document body.': 4,
};

const weatherFn = {
  name: 'get_weather',
  description: 'Get the weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('countTextTokens', () => {
  it('counts with o200k_base', () => {
    for (const [text, n] of Object.entries(TOKENS)) expect(countTextTokens(text), text).toBe(n);
    expect(countTextTokens('')).toBe(0);
  });

  it('treats special-token text in a prompt as ordinary text instead of throwing', () => {
    expect(countTextTokens('a <|endoftext|> b')).toBe(9);
  });

  it('a 1M-character run without spaces is counted in slices (BPE is quadratic on one long word)', () => {
    // 8 "x" per token; 3,906 slices of 256 = 32 tokens each, plus 64 chars = 8 tokens.
    expect(countTextTokens('x'.repeat(1_000_000))).toBe(125_000);
    // CJK has no spaces either: 2 characters a token here.
    expect(countTextTokens('中文字符测试数据'.repeat(2000))).toBe(8000);
  });

  it('past MAX_ESTIMATE_CHARS extrapolates at the measured ratio', () => {
    const text = 'hello world '.repeat(262_144); // 3 MiB, exactly 524,288 tokens
    expect(text.length).toBeGreaterThan(MAX_ESTIMATE_CHARS);
    expect(Math.abs(countTextTokens(text) - 524_288)).toBeLessThanOrEqual(2);
  });
});

describe('estimateOpenAIChatInput', () => {
  it('one message: 3 framing + role + content + 3 priming', () => {
    expect(estimateOpenAIChatInput({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello, world!' }] })).toBe(3 + 1 + 4 + 3);
  });

  it('names, tool calls, tool results, content parts, images, tool definitions', () => {
    const body = {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'What is 2+2?', name: 'alice' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'Sunny, 21°C' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Describe this image.' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
          ],
        },
      ],
      tools: [{ type: 'function', function: weatherFn }],
    };
    const expected =
      3 + 1 + 4 + // system
      (3 + 1 + 7 + 1 + 1) + // user with name (+1)
      (3 + 1 + 2 + 5) + // assistant tool call
      (3 + 1 + 5) + // tool result
      (3 + 1 + 4 + OPENAI_IMAGE_TOKENS_LOW + OPENAI_IMAGE_TOKENS) + // parts
      3 + // priming
      32; // the function definition as compact JSON
    expect(expected).toBe(934);
    expect(estimateOpenAIChatInput(body)).toBe(934);
  });

  it('never throws on odd input', () => {
    expect(estimateOpenAIChatInput(null)).toBe(0);
    expect(estimateOpenAIChatInput('hello')).toBe(0);
    expect(estimateOpenAIChatInput(42)).toBe(0);
    expect(estimateOpenAIChatInput({ messages: 'x' })).toBe(0);
    // three malformed messages still cost their framing, plus the priming
    expect(estimateOpenAIChatInput({ messages: [null, 5, { role: 7, content: {} }] })).toBe(3 * 3 + 3);
    const cyclic: Record<string, unknown> = { name: 'f' };
    cyclic['self'] = cyclic;
    expect(estimateOpenAIChatInput({ messages: [], tools: [cyclic, { function: { n: 1n } }] })).toBe(3);
  });
});

describe('estimateAnthropicInput', () => {
  it('system, text, thinking, tool_use, tool_result (string and blocks), image, text document, tools', () => {
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: 'Be brief.',
      messages: [
        { role: 'user', content: 'Hello, world!' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'The quick brown fox', signature: 'c2ln' },
            { type: 'tool_use', id: 't1', name: 'lookup', input: { q: 'x' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: 'found 3 rows' },
            { type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: 'hello world' }] },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'A document body.' } },
          ],
        },
      ],
      tools: [
        { name: 'get_weather', description: 'Get the weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      ],
    };
    const expected =
      3 + // system
      (3 + 1 + 4) +
      (3 + 1 + 4 + 1 + 5) +
      (3 + 1 + 4 + 2 + ANTHROPIC_IMAGE_TOKENS + 4) +
      3 + // priming
      28; // tool definition JSON
    expect(expected).toBe(1670);
    expect(estimateAnthropicInput(body)).toBe(1670);
  });

  it('system as blocks counts the same as a string', () => {
    const msgs = [{ role: 'user', content: 'Hello, world!' }];
    expect(estimateAnthropicInput({ system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }], messages: msgs })).toBe(
      3 + 3 + 1 + 4 + 3,
    );
    expect(estimateAnthropicInput({ system: 'Be brief.', messages: msgs })).toBe(14);
  });

  it('never throws on odd input', () => {
    expect(estimateAnthropicInput(undefined)).toBe(0);
    expect(estimateAnthropicInput({ system: 5, messages: [{ role: 'user', content: [null, 'x', { type: 'tool_result', content: 7 }] }] })).toBe(3 + 1 + 3);
    expect(estimateAnthropicInput([])).toBe(0);
  });
});

describe('estimateResponsesInput', () => {
  it('instructions and a string input', () => {
    expect(estimateResponsesInput({ model: 'gpt-5', instructions: 'Be brief.', input: 'Hello, world!' })).toBe(3 + 3 + 4 + 3);
  });

  it('items: messages with parts, function calls and outputs, tools', () => {
    const body = {
      model: 'gpt-5',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is 2+2?' },
            { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'low' },
          ],
        },
        { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'Sunny, 21°C' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'hello world' }] },
      ],
      tools: [{ type: 'function', ...weatherFn }],
    };
    const expected = (3 + 1 + 7 + OPENAI_IMAGE_TOKENS_LOW) + (3 + 2 + 5) + (3 + 5) + (3 + 1 + 2) + 3 + 36;
    expect(expected).toBe(159);
    expect(estimateResponsesInput(body)).toBe(159);
  });

  it('never throws on odd input', () => {
    expect(estimateResponsesInput(null)).toBe(0);
    expect(estimateResponsesInput({ input: 12 })).toBe(0);
    expect(estimateResponsesInput({ input: [null] })).toBe(3 + 3);
  });
});

describe('estimateEmbeddingsInput', () => {
  it('a string, strings, token ids, arrays of token ids', () => {
    expect(estimateEmbeddingsInput({ model: 'text-embedding-3-small', input: 'The quick brown fox' })).toBe(4);
    expect(estimateEmbeddingsInput({ input: ['The quick brown fox', 'jumps over the lazy dog'] })).toBe(10);
    expect(estimateEmbeddingsInput({ input: [1, 2, 3] })).toBe(3);
    expect(estimateEmbeddingsInput({ input: [[1, 2, 3], [4, 5]] })).toBe(5);
  });

  it('never throws on odd input', () => {
    expect(estimateEmbeddingsInput(null)).toBe(0);
    expect(estimateEmbeddingsInput({})).toBe(0);
    expect(estimateEmbeddingsInput({ input: { a: 1 } })).toBe(0);
    expect(estimateEmbeddingsInput({ input: [null, true, 'hello world'] })).toBe(2);
  });
});

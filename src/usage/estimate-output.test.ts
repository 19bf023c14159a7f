import { describe, expect, it } from 'vitest';
import { countTextTokens } from './estimate.js';
import { estimateAnthropicOutput, estimateOpenAIChatOutput, estimateResponsesOutput } from './estimate-output.js';

// o200k_base: 'Hello, world!' 4, 'get_weather' 2, '{"city":"Paris"}' 5, 'The quick brown fox' 4, 'jumps over the lazy dog' 6.
describe('estimateOpenAIChatOutput', () => {
  it('content, reasoning, refusal and tool calls of every choice', () => {
    expect(
      estimateOpenAIChatOutput({
        choices: [
          { message: { role: 'assistant', content: 'Hello, world!', reasoning_content: 'The quick brown fox' } },
          { message: { role: 'assistant', content: null, refusal: 'jumps over the lazy dog', tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] } },
          { message: { content: [{ type: 'text', text: 'Hello, world!' }] } },
        ],
      }),
    ).toBe(4 + 4 + 6 + 2 + 5 + 4);
  });

  it('never throws on odd input', () => {
    for (const body of [null, 'x', [], {}, { choices: 'x' }, { choices: [null, { message: 3 }, { message: { tool_calls: [null] } }] }]) {
      expect(estimateOpenAIChatOutput(body)).toBe(0);
    }
  });
});

describe('estimateResponsesOutput', () => {
  it('message parts, function and custom tool calls, reasoning summaries', () => {
    expect(
      estimateResponsesOutput({
        output: [
          { type: 'reasoning', summary: [{ type: 'summary_text', text: 'The quick brown fox' }] },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello, world!' }, { type: 'refusal', refusal: 'jumps over the lazy dog' }] },
          { type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}', call_id: 'c1' },
          { type: 'custom_tool_call', name: 'get_weather', input: 'Hello, world!' },
        ],
      }),
    ).toBe(4 + 4 + 6 + 2 + 5 + 2 + 4);
  });

  it('output_text when there are no output items', () => {
    expect(estimateResponsesOutput({ output_text: 'Hello, world!' })).toBe(4);
  });

  it('never throws on odd input', () => {
    for (const body of [null, 7, [], {}, { output: [null, 'x', { content: 5 }] }]) expect(estimateResponsesOutput(body)).toBe(0);
  });
});

describe('estimateAnthropicOutput', () => {
  it('text, thinking and tool_use blocks', () => {
    expect(
      estimateAnthropicOutput({
        content: [
          { type: 'thinking', thinking: 'The quick brown fox', signature: 'sig' },
          { type: 'text', text: 'Hello, world!' },
          { type: 'tool_use', id: 'tu_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      }),
    ).toBe(4 + 4 + 2 + countTextTokens('{"city":"Paris"}'));
  });

  it('never throws on odd input', () => {
    for (const body of [null, 'x', {}, { content: 'x' }, { content: [null, { type: 'tool_use' }] }]) expect(estimateAnthropicOutput(body)).toBe(0);
  });
});

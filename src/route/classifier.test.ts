import { describe, expect, it } from 'vitest';
import { scoreRequest } from './classifier.js';
import { extractFeatures } from './features.js';
import { ROUTER_CALIBRATION } from './weights.js';

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'gpt-5',
  messages: [{ role: 'user', content }],
  ...extra,
});

describe('feature extraction', () => {
  it('separates the new user text from context, tools and media across the three wire formats', () => {
    const openai = extractFeatures(
      {
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'a', content: 'tool output here' },
          { role: 'user', content: [{ type: 'text', text: 'And now?' }, { type: 'image_url', image_url: { url: 'data:' } }] },
        ],
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: 'required',
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } },
        max_completion_tokens: 9000,
      },
      'chat.completions',
    );
    expect(openai.newText).toBe('And now?');
    expect(openai.features).toMatchObject({
      newChars: 8,
      contextChars: 'You are terse.'.length + 'first question'.length + 'tool output here'.length,
      turns: 5,
      tools: 1,
      toolChoiceForced: true,
      toolTurns: 2,
      images: 1,
      jsonSchema: true,
      maxOutputTokens: 9000,
      toolStep: false,
    });

    const anthropic = extractFeatures(
      {
        system: [{ type: 'text', text: 'sys' }],
        messages: [
          { role: 'user', content: 'Read the file' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'read', input: { path: 'a' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'file body' }] },
        ],
        thinking: { type: 'enabled', budget_tokens: 16000 },
      },
      'messages',
    );
    // The last user turn holds only a tool result: no new question, an agent loop continuing.
    expect(anthropic.newText).toBe('');
    expect(anthropic.features).toMatchObject({ newChars: 0, toolTurns: 2, reasoning: 2, toolStep: true });

    const responses = extractFeatures({ instructions: 'be brief', input: 'Summarize: cats sleep.', reasoning: { effort: 'high' } }, 'responses');
    expect(responses.features).toMatchObject({ newChars: 22, contextChars: 8, turns: 1, reasoning: 2, simpleTask: 1, toolStep: false });

    // The next step of an agent's turn: the newest message is the tool's result, the user text the turn's.
    const call = { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }] };
    const chatStep = extractFeatures({ messages: [{ role: 'user', content: 'Look it up' }, call, { role: 'tool', tool_call_id: 'a', content: 'found' }] }, 'chat.completions');
    expect([chatStep.newText, chatStep.features.toolStep]).toEqual(['Look it up', true]);
    const input = [{ role: 'user', content: 'Look it up' }, { type: 'function_call', call_id: 'a', name: 'f', arguments: '{}' }, { type: 'function_call_output', call_id: 'a', output: 'found' }];
    const responsesStep = extractFeatures({ input }, 'responses');
    expect([responsesStep.newText, responsesStep.features.toolStep]).toEqual(['Look it up', true]);
    expect(extractFeatures({ input: input.slice(0, 2) }, 'responses').features.toolStep).toBe(false);

    // Earlier turns stored at the provider, not in the body.
    expect(extractFeatures({ input: 'more', previous_response_id: 'resp_1' }, 'responses').features.storedContext).toBe('previous_response_id');
    expect(extractFeatures({ input: 'more', conversation: { id: 'conv_1' } }, 'responses').features.storedContext).toBe('conversation');
    expect(extractFeatures({ messages: [], previous_response_id: 'resp_1' }, 'chat.completions').features.storedContext).toBeNull();
    // A file not in the body: uploaded before (file_id), or fetched from a URL; one inside a tool result too.
    const user = (content: unknown[]) => [{ role: 'user', content }];
    expect(extractFeatures({ messages: user([{ type: 'file', file: { file_id: 'file-1' } }]) }, 'chat.completions').features.storedContext).toBe('file_id');
    expect(extractFeatures({ messages: user([{ type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=' } }]) }, 'chat.completions').features.storedContext).toBeNull();
    expect(extractFeatures({ input: user([{ type: 'input_file', file_url: 'https://example.com/a.pdf' }]) }, 'responses').features.storedContext).toBe('file_url');
    expect(extractFeatures({ input: user([{ type: 'input_file', file_id: 'file-1' }]), previous_response_id: 'resp_1' }, 'responses').features.storedContext).toBe('previous_response_id');
    const inResult = [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'document', source: { type: 'file', file_id: 'file_1' } }] }];
    expect(extractFeatures({ messages: user(inResult) }, 'messages').features.storedContext).toBe('file_id');
    expect(extractFeatures({ messages: user([{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hi' } }]) }, 'messages').features.storedContext).toBeNull();

    // Audio heard (an input_audio part, in chat or Responses) or spoken (modalities, the audio output parameter).
    const heard = { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } };
    expect(extractFeatures({ messages: [{ role: 'user', content: [heard] }] }, 'chat.completions').features.audio).toBe(true);
    expect(extractFeatures({ input: [{ role: 'user', content: [heard, { type: 'input_text', text: 'hi' }] }] }, 'responses').features.audio).toBe(true);
    expect(extractFeatures({ messages: [{ role: 'user', content: 'hi' }], modalities: ['text', 'audio'] }, 'chat.completions').features.audio).toBe(true);
    expect(extractFeatures({ messages: [{ role: 'user', content: 'hi' }], modalities: ['text'] }, 'chat.completions').features.audio).toBe(false);
  });

  it('never throws on malformed bodies', () => {
    for (const body of [{}, { messages: 'x' }, { messages: [null, 3, { role: 'user', content: { weird: true } }] }, { input: [{}] }]) {
      expect(() => scoreRequest(body, 'chat.completions')).not.toThrow();
      expect(() => scoreRequest(body, 'responses')).not.toThrow();
    }
  });
});

describe('complexity score', () => {
  it('ranks short lookups below open-ended, multi-step, code and agent work', () => {
    const simple = ['What is the capital of France?', 'Translate "good morning" into Spanish.', 'hi'];
    const hard = [
      'Prove that there are infinitely many primes, step by step, then derive the density of primes below n.',
      'Design a distributed rate limiter for 1M requests per second; compare token bucket and sliding window, analyze the trade-offs.',
      'A train travels 60 km in 45 minutes, then 80 km in 1 hour 15 minutes, and stops 3 times for 12 minutes. What is its average speed in km/h including stops?',
      'Refactor this:\n```ts\nfunction f(x) {\n  let y = x + 1;\n  return y;\n}\n```',
    ];
    const maxSimple = Math.max(...simple.map((s) => scoreRequest(chat(s), 'chat.completions').score));
    for (const h of hard) expect(scoreRequest(chat(h), 'chat.completions').score).toBeGreaterThan(maxSimple);
    // The default thresholds route the simple ones and keep the hard ones on premium.
    expect(maxSimple).toBeLessThanOrEqual(ROUTER_CALIBRATION.route40);
    for (const h of hard) expect(scoreRequest(chat(h), 'chat.completions').score).toBeGreaterThan(ROUTER_CALIBRATION.route40);
  });

  it('raises the score for tools, reasoning effort and long outputs, and names the task class', () => {
    const base = scoreRequest(chat('What is the capital of France?'), 'chat.completions');
    const tools = scoreRequest(chat('What is the capital of France?', { tools: [{ type: 'function', function: { name: 'x' } }] }), 'chat.completions');
    const effort = scoreRequest(chat('What is the capital of France?', { reasoning_effort: 'high' }), 'chat.completions');
    const long = scoreRequest(chat('What is the capital of France?', { max_tokens: 16000 }), 'chat.completions');
    expect(tools.score).toBeGreaterThan(base.score);
    expect(effort.score).toBeGreaterThan(base.score);
    expect(long.score).toBeGreaterThan(base.score);
    expect(tools.taskClass).toBe('agent');
    expect(scoreRequest(chat('Which is a mammal?\nA. shark\nB. whale\nC. trout\nD. squid\nAnswer:'), 'chat.completions').taskClass).toBe('multiple_choice');
  });

  it('is well under a millisecond per request, even for a long transcript', () => {
    const messages = Array.from({ length: 200 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'Some earlier turn of the conversation. '.repeat(50) }));
    const body = { model: 'gpt-5', messages };
    for (let i = 0; i < 50; i++) scoreRequest(body, 'chat.completions');
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) scoreRequest(body, 'chat.completions');
    expect((performance.now() - t0) / 200).toBeLessThan(1);
  });
});

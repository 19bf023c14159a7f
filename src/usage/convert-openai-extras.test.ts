import { describe, expect, it } from 'vitest';
import { convertOpenAIChatUsage } from './convert-openai-chat-usage.js';
import { openAIBilling, responsesToolCalls, withOpenAIExtras } from './convert-openai-extras.js';
import { convertOpenAIResponsesUsage } from './convert-openai-responses-usage.js';

describe('OpenAI response extras', () => {
  it('counts the built-in tool calls among a Responses object’s output items', () => {
    const output = [
      { id: 'rs_1', type: 'reasoning', summary: [] },
      { id: 'ws_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'a' } },
      { id: 'ws_2', type: 'web_search_call', status: 'failed' },
      { id: 'fs_1', type: 'file_search_call', status: 'completed', queries: ['c'], results: null },
      { id: 'fc_1', type: 'function_call', name: 'web_search_call' },
      { id: 'msg_1', type: 'message', content: [] },
      null,
      'web_search_call',
      { type: 'constructor' },
    ];
    expect(responsesToolCalls(output)).toEqual({ web_search: 2, file_search: 1 });
    expect(responsesToolCalls([{ type: 'message' }])).toBeUndefined();
    expect(responsesToolCalls(undefined)).toBeUndefined();
  });

  it('reads the service tier that served the response; none for the standard tier', () => {
    expect(openAIBilling('flex')).toEqual({ serviceTier: 'flex' });
    expect(openAIBilling('priority')).toEqual({ serviceTier: 'priority' });
    expect(openAIBilling('default')).toBeUndefined();
    expect(openAIBilling('auto')).toBeUndefined();
    expect(openAIBilling(null)).toBeUndefined();
    expect(openAIBilling(7)).toBeUndefined();
  });

  it('adds both to a converted usage, tool calls only from a Responses object', () => {
    const response = {
      service_tier: 'priority',
      output: [{ type: 'web_search_call' }],
      usage: { input_tokens: 100, output_tokens: 10 },
    };
    const r = withOpenAIExtras(convertOpenAIResponsesUsage(response.usage), response, 'responses');
    expect(r).toMatchObject({ billing: { serviceTier: 'priority' }, toolCalls: { web_search: 1 } });
    const chat = withOpenAIExtras(convertOpenAIChatUsage({ prompt_tokens: 5, completion_tokens: 1 }), { service_tier: 'default', output: [{ type: 'web_search_call' }] }, 'chat');
    expect(chat?.billing).toBeUndefined();
    expect(chat?.toolCalls).toBeUndefined();
    expect(withOpenAIExtras(null, response, 'responses')).toBeNull();
  });
});

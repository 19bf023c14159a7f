import { anthropicContent, functionCall, openAIContent, Tally } from './estimate.js';
import { isRecord } from './usage-fields.js';

/**
 * Output-token estimates for a complete (non-streamed) response the provider sent without usage. What a stream meter
 * counts of a streamed answer's deltas, counted the same way (o200k_base, no framing) from the finished body: text,
 * reasoning, refusals, tool names and arguments.
 *
 * Every function takes the parsed response body as `unknown`, never throws, and returns a whole number of tokens.
 */

/** OpenAI chat completions: each choice's message content (string or parts), reasoning, refusal, tool calls. */
export function estimateOpenAIChatOutput(body: unknown): number {
  const tally = new Tally();
  const choices = isRecord(body) ? body['choices'] : undefined;
  if (!Array.isArray(choices)) return 0;
  for (const c of choices) {
    const message = isRecord(c) ? c['message'] : undefined;
    if (!isRecord(message)) continue;
    openAIContent(tally, message['content']);
    // reasoning_content: DeepSeek, vLLM; reasoning: OpenRouter, Ollama.
    tally.text(message['reasoning_content']);
    tally.text(message['reasoning']);
    tally.text(message['refusal']);
    const calls = message['tool_calls'];
    if (Array.isArray(calls)) for (const t of calls) if (isRecord(t)) functionCall(tally, t['function']);
    functionCall(tally, message['function_call']);
  }
  return tally.total();
}

/** OpenAI Responses: the output items (messages, function and custom tool calls, reasoning), else `output_text`. */
export function estimateResponsesOutput(body: unknown): number {
  if (!isRecord(body)) return 0;
  const tally = new Tally();
  const output = body['output'];
  if (!Array.isArray(output) || output.length === 0) {
    // Not in OpenAI's wire format (its SDKs compute it), but some compatible servers send only this.
    tally.text(body['output_text']);
    return tally.total();
  }
  for (const item of output) {
    if (!isRecord(item)) continue;
    openAIContent(tally, item['content']); // message: output_text and refusal parts; reasoning: reasoning_text parts
    openAIContent(tally, item['summary']); // reasoning summaries
    tally.text(item['name']);
    tally.text(item['arguments']); // function_call
    tally.text(item['input']); // custom_tool_call
  }
  return tally.total();
}

/** Anthropic Messages: text, thinking and tool-use blocks (the tool's name and its input as JSON), as in a request. */
export function estimateAnthropicOutput(body: unknown): number {
  const tally = new Tally();
  // A response's content is always blocks: a bare string is not one.
  if (isRecord(body) && Array.isArray(body['content'])) anthropicContent(tally, body['content'], 0);
  return tally.total();
}

import { functionCall, Tally } from './estimate.js';
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
    parts(tally, message['content']);
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
    parts(tally, item['content']); // message: output_text and refusal parts; reasoning: reasoning_text parts
    parts(tally, item['summary']); // reasoning summaries
    tally.text(item['name']);
    tally.text(item['arguments']); // function_call
    tally.text(item['input']); // custom_tool_call
  }
  return tally.total();
}

/** Anthropic Messages: text, thinking and tool-use blocks (the tool's name and its input as JSON). */
export function estimateAnthropicOutput(body: unknown): number {
  const content = isRecord(body) ? body['content'] : undefined;
  if (!Array.isArray(content)) return 0;
  const tally = new Tally();
  for (const block of content) {
    if (!isRecord(block)) continue;
    switch (block['type']) {
      case 'tool_use':
      case 'server_tool_use':
        tally.text(block['name']);
        tally.json(block['input']);
        break;
      case 'thinking':
        tally.text(block['thinking']);
        break;
      default:
        tally.text(block['text']);
    }
  }
  return tally.total();
}

/** A string, or parts carrying `text` or `refusal`. */
function parts(tally: Tally, content: unknown): void {
  if (typeof content === 'string') return tally.text(content);
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (!isRecord(part)) continue;
    tally.text(part['text']);
    tally.text(part['refusal']);
  }
}

import type { Endpoint } from '../../usage/event.js';

/**
 * The parts of a request body that fingerprints are made of, for the three chat wires. Pure and defensive: any
 * shape it does not recognise contributes nothing (never throws).
 *
 * - new turn: the last message when it is a user message with text and no tool results;
 * - tool step: the calls of the last assistant message and the tool results that follow it;
 * - context: everything before the new turn or tool step (system prompt, tool definitions, earlier messages),
 *   serialised as `role\ntext` pieces in order, so the same conversation always gives the same blocks.
 */
export interface RequestParts {
  newText: string | null;
  context: string[];
  toolCalls: string;
  toolResults: string;
  toolsDeclared: number;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

/** Text of a content value: a string, or parts/blocks with `text` (images and files count as a marker only). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const out: string[] = [];
  for (const p of content) {
    if (typeof p === 'string') out.push(p);
    else if (isRec(p)) {
      if (typeof p['text'] === 'string') out.push(p['text']);
      else if (p['type'] === 'tool_result') out.push(contentText(p['content']));
      else if (p['type'] === 'tool_use') out.push(`${str(p['name'])} ${str(p['input'])}`);
      else if (typeof p['type'] === 'string') out.push(`[${p['type']}]`);
    }
  }
  return out.join('\n');
}

function hasToolResult(content: unknown): boolean {
  return Array.isArray(content) && content.some((b) => isRec(b) && b['type'] === 'tool_result');
}

function anthropic(body: Rec): RequestParts {
  const messages = Array.isArray(body['messages']) ? body['messages'].filter(isRec) : [];
  const tools = Array.isArray(body['tools']) ? body['tools'] : [];
  const context: string[] = [];
  if (body['system'] !== undefined) context.push(`system\n${contentText(body['system'])}`);
  if (tools.length > 0) context.push(`tools\n${JSON.stringify(tools)}`);
  const last = messages[messages.length - 1];
  let newText: string | null = null;
  let toolCalls = '';
  let toolResults = '';
  let upTo = messages.length;
  if (last && last['role'] === 'user') {
    upTo = messages.length - 1;
    if (hasToolResult(last['content'])) {
      const blocks = last['content'] as unknown[];
      toolResults = contentText(blocks.filter((b) => isRec(b) && b['type'] === 'tool_result'));
      const prev = messages[messages.length - 2];
      if (prev && prev['role'] === 'assistant' && Array.isArray(prev['content'])) {
        toolCalls = contentText(prev['content'].filter((b) => isRec(b) && b['type'] === 'tool_use'));
        upTo = messages.length - 2;
      }
    } else {
      newText = contentText(last['content']);
    }
  }
  for (let i = 0; i < upTo; i++) context.push(`${str(messages[i]!['role'])}\n${contentText(messages[i]!['content'])}`);
  return { newText, context, toolCalls, toolResults, toolsDeclared: tools.length };
}

function openaiChat(body: Rec): RequestParts {
  const messages = Array.isArray(body['messages']) ? body['messages'].filter(isRec) : [];
  const tools = Array.isArray(body['tools']) ? body['tools'] : [];
  let end = messages.length;
  let newText: string | null = null;
  let toolCalls = '';
  let toolResults = '';
  const last = messages[end - 1];
  if (last && last['role'] === 'user') {
    newText = contentText(last['content']);
    end--;
  } else if (last && (last['role'] === 'tool' || last['role'] === 'function')) {
    const results: string[] = [];
    while (end > 0 && (messages[end - 1]!['role'] === 'tool' || messages[end - 1]!['role'] === 'function')) {
      results.unshift(contentText(messages[end - 1]!['content']));
      end--;
    }
    toolResults = results.join('\n');
    const prev = messages[end - 1];
    if (prev && prev['role'] === 'assistant') {
      toolCalls = str(prev['tool_calls'] ?? prev['function_call']);
      end--;
    }
  }
  const context: string[] = [];
  if (tools.length > 0) context.push(`tools\n${JSON.stringify(tools)}`);
  for (let i = 0; i < end; i++) {
    const m = messages[i]!;
    const calls = m['tool_calls'] !== undefined ? `\n${str(m['tool_calls'])}` : '';
    context.push(`${str(m['role'])}\n${contentText(m['content'])}${calls}`);
  }
  return { newText, context, toolCalls, toolResults, toolsDeclared: tools.length };
}

function openaiResponses(body: Rec): RequestParts {
  const tools = Array.isArray(body['tools']) ? body['tools'] : [];
  const context: string[] = [];
  if (typeof body['instructions'] === 'string') context.push(`system\n${body['instructions']}`);
  if (tools.length > 0) context.push(`tools\n${JSON.stringify(tools)}`);
  const input = body['input'];
  if (typeof input === 'string') return { newText: input, context, toolCalls: '', toolResults: '', toolsDeclared: tools.length };
  const items = Array.isArray(input) ? input.filter(isRec) : [];
  let end = items.length;
  let newText: string | null = null;
  const results: string[] = [];
  const calls: string[] = [];
  const last = items[end - 1];
  if (last && (last['role'] === 'user' || (last['type'] === 'message' && last['role'] === 'user'))) {
    newText = contentText(last['content']);
    end--;
  } else {
    while (end > 0 && items[end - 1]!['type'] === 'function_call_output') results.unshift(str(items[--end]!['output']));
    while (end > 0 && items[end - 1]!['type'] === 'function_call') {
      const c = items[--end]!;
      calls.unshift(`${str(c['name'])} ${str(c['arguments'])}`);
    }
  }
  for (let i = 0; i < end; i++) {
    const it = items[i]!;
    context.push(`${str(it['role'] ?? it['type'])}\n${contentText(it['content']) || str(it['output'] ?? it['arguments'])}`);
  }
  return { newText, context, toolCalls: calls.join('\n'), toolResults: results.join('\n'), toolsDeclared: tools.length };
}

/** Null for endpoints that carry no conversation (embeddings, token counting, model lists). */
export function extractParts(body: Readonly<Record<string, unknown>>, endpoint: Endpoint): RequestParts | null {
  switch (endpoint) {
    case 'messages':
      return anthropic(body);
    case 'chat.completions':
      return openaiChat(body);
    case 'responses':
      return openaiResponses(body);
    default:
      return null;
  }
}

/**
 * The provider-neutral view of a request's prompt: an ordered list of text parts (tools, system, each content
 * block), the Anthropic cache breakpoints among them, and what the output planner needs to know about the
 * last message. Each provider module builds one from its request body; the rest never sees provider JSON.
 */
import { countTokens, encodeTokens } from './tokens.js';

export type CacheTtl = '5m' | '1h';

export interface PromptPart {
  text: string;
  /** Set when the block carries `cache_control`: a cache breakpoint right after this part. */
  cacheTtl?: CacheTtl;
}

export interface Prompt {
  parts: PromptPart[];
  /** Text of the last user message: where `[[sim:...]]` directives are read. */
  lastUserText: string;
  /** The conversation ends with a (non tool-result) user turn: a tool call is the natural answer. */
  endsWithUser: boolean;
}

export function promptTokenCount(parts: readonly PromptPart[]): number {
  let total = 0;
  for (const part of parts) total += countTokens(part.text);
  return total;
}

export function promptTokens(parts: readonly PromptPart[]): Uint32Array[] {
  return parts.map((p) => encodeTokens(p.text));
}

/** A cheap fingerprint of the prompt for seeding the output text. */
export function promptFingerprint(parts: readonly PromptPart[]): string {
  let key = '';
  for (const part of parts) key += part.text + '\u0000';
  return key;
}

type Json = unknown;

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: Json): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** JSON.stringify that never throws (bodies are depth-limited before they get here, this is belt and braces). */
export function safeJson(value: Json): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

/**
 * The countable text of one content block, in any of the three wire formats: text / input_text /
 * output_text, tool_use and function_call (name + JSON input), tool_result and function_call_output,
 * thinking. Images, audio and files count as nothing here.
 */
export function blockText(block: Json, depth = 0): string {
  if (typeof block === 'string') return block;
  if (!isRecord(block) || depth > 8) return '';
  const type = str(block.type);
  switch (type) {
    case 'tool_use':
    case 'server_tool_use':
      return (str(block.name) ?? '') + safeJson(block.input ?? {});
    case 'function_call':
      return (str(block.name) ?? '') + (str(block.arguments) ?? '');
    case 'tool_result':
    case 'function_call_output':
      return contentText(block.content ?? block.output, depth + 1);
    case 'thinking':
      return str(block.thinking) ?? '';
    default:
      return str(block.text) ?? str(block.refusal) ?? '';
  }
}

/** Text of a message `content`: a string, or an array of blocks. */
export function contentText(content: Json, depth = 0): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const block of content) {
    const text = blockText(block, depth);
    if (text !== '') out += out === '' ? text : '\n' + text;
  }
  return out;
}

/** A tool definition as counted text: name, description and the JSON schema. */
export function toolText(name: string, description: string | undefined, schema: Json): string {
  return `${name}\n${description ?? ''}\n${safeJson(schema ?? {})}`;
}

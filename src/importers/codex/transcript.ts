import type { FingerprintCore } from '../../detect/fingerprint/types.js';
import { isRecord } from '../../usage/usage-fields.js';
import { parseJsonObject, str } from '../json-line.js';
import { Conversations } from '../transcript.js';
import type { FingerprintSettings, LineResult, TranscriptHasher } from '../types.js';

/**
 * Fingerprints from a Codex CLI rollout file (see ../transcript.ts for what a fingerprint takes from a log):
 * - `event_msg` / `user_message`: what the person typed, the next request's new turn;
 * - `response_item` `function_call` / `custom_tool_call` / `local_shell_call`: the model's tool calls, remembered by
 *   `call_id`; their `…_output` items are the results, which with the calls they answer make the next request's
 *   tool step;
 * - `response_item` messages (the user's as Codex sends them, with its injected context, and the model's) and the
 *   calls and outputs are the context;
 * - `event_msg` / `token_count` with usage (the parser's record) is a request, after the fact: Codex writes it when
 *   the answer is complete, so what came since the previous one is the request's new turn or step. An
 *   auto-compaction request (a `compacted` line's record) is not: it gets no fingerprint and takes nothing.
 */

/** Codex offers the model a handful of tools (shell, apply_patch, update_plan, view_image, MCP tools). */
export const CODEX_TOOLS = 6;

/** Calls remembered until their output arrives; a file never has this many open at once. */
const MAX_OPEN_CALLS = 256;

export function createCodexTranscript(_path: string, context: unknown, fingerprints: FingerprintSettings): TranscriptHasher {
  const convs = new Conversations(fingerprints.secret, context, fingerprints.since);
  const c = convs.get('main');
  const open = new Map<string, string>();

  const item = (p: Record<string, unknown>): void => {
    const type = p['type'];
    const id = str(p['call_id']);
    if (type === 'function_call' || type === 'custom_tool_call' || type === 'local_shell_call') {
      const args = type === 'function_call' ? p['arguments'] : type === 'custom_tool_call' ? p['input'] : p['action'];
      const call = `${str(p['name']) ?? 'local_shell'} ${typeof args === 'string' ? args : JSON.stringify(args ?? null)}`;
      if (id !== null) {
        if (open.size >= MAX_OPEN_CALLS) open.delete(open.keys().next().value!);
        open.set(id, call);
      }
      c.push(call);
    } else if (type === 'function_call_output' || type === 'custom_tool_call_output' || type === 'local_shell_call_output') {
      const output = typeof p['output'] === 'string' ? p['output'] : JSON.stringify(p['output'] ?? null);
      c.calls.push((id === null ? undefined : open.get(id)) ?? '');
      if (id !== null) open.delete(id);
      c.result(output);
    } else if (type === 'message') {
      const text = contentText(p['content']);
      if (p['role'] === 'assistant') c.push(text);
      else c.hold(text);
    } else if (type === 'reasoning') c.push('[reasoning]');
  };

  return {
    line(_buf, _start, _end, text, usage: LineResult | undefined): FingerprintCore | null {
      // An auto-compaction request (parse-line.ts) sends the history to be summarised, not the next turn: the turn and
      // the tool step waiting are the next request's.
      if (usage !== undefined && usage !== null && typeof usage !== 'string') return usage.tags.includes('compaction') ? null : c.request(CODEX_TOOLS, usage.at);
      if (text === null || !(text.includes('"response_item"') || text.includes('"user_message"'))) return null;
      const obj = parseJsonObject(text);
      if (typeof obj === 'string' || !isRecord(obj['payload'])) return null;
      const p = obj['payload'];
      if (obj['type'] === 'response_item') item(p);
      else if (obj['type'] === 'event_msg' && p['type'] === 'user_message' && typeof p['message'] === 'string') c.typed.push(p['message']);
      return null;
    },
    pending: () => convs.pending(),
    context: () => convs.saved(),
  };
}

/** Text of a Responses API content list (`input_text`, `output_text`, …; other parts as a marker). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isRecord(p) ? (typeof p['text'] === 'string' ? p['text'] : `[${str(p['type']) ?? 'part'}]`) : '')).join('\n');
}

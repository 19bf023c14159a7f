import { convertAnthropicUsage } from '../../usage/convert-anthropic-usage.js';
import { isRecord } from '../../usage/usage-fields.js';
import { compactRaw, parseJsonObject, parseTimestamp, str } from '../json-line.js';
import type { LineResult } from '../types.js';

/**
 * One line of a Claude Code session log (`~/.claude/projects/<cwd>/<session>.jsonl`) → usage, per
 * ../shared/reference/formats.md:
 * - usage is `message.usage`, Anthropic's disjoint buckets with the 5m/1h cache-write split;
 * - lines of the model `<synthetic>` and `isApiErrorMessage` lines are never billed: skipped;
 * - one line per content block repeats `message.id` + `requestId`: the key is that pair, so all of a response's
 *   lines get one event id (which of them wins is the store's rank rule: main chain, then larger token sum);
 *   lines missing either half of the pair are not deduplicated (keyed by their own `uuid`, else their position),
 *   as ccusage does;
 * - `isSidechain` (subagent) lines are tagged `sidechain`;
 * - `costUSD` (old versions) is the cost Claude Code computed; `speed: "fast"` bills at fast mode's premium (the
 *   usage's billing mode, priced by the one rule in usage/billing-mode.ts, as the gateway prices it);
 * - `usage.server_tool_use.web_search_requests` are billed per search (the usage's tool calls).
 *
 * `where` identifies the line in its file, for lines that carry nothing unique.
 */

export function parseClaudeLine(line: string, where: string): LineResult {
  const obj = parseWithoutContent(line);
  if (typeof obj === 'string') return obj;
  const message = obj['message'];
  if (!isRecord(message) || !isRecord(message['usage'])) return 'no_usage';
  const usageRaw = message['usage'];
  if (message['model'] === '<synthetic>') return 'synthetic';
  if (obj['isApiErrorMessage'] === true) return 'api_error';
  const at = parseTimestamp(obj['timestamp']);
  if (at === null) return 'bad_shape';
  const usage = convertAnthropicUsage(usageRaw);
  if (usage === null) return 'no_usage';
  usage.raw = compactRaw(usageRaw);

  const messageId = str(message['id']);
  const requestId = str(obj['requestId']);
  const key = messageId !== null && requestId !== null ? `m\u0000${messageId}\u0000${requestId}` : `l\u0000${str(obj['uuid']) ?? where}`;
  const sidechain = obj['isSidechain'] === true;
  const speed = usageRaw['speed'] ?? obj['speed'] ?? message['speed'];
  const fast = speed === 'fast';
  // Older versions wrote `speed` beside the usage, not in it.
  if (fast) usage.billing = { ...usage.billing, speed: 'fast' };
  const cost = obj['costUSD'];
  const tags: string[] = [];
  if (sidechain) tags.push('sidechain');
  if (fast) tags.push('fast');
  return {
    key,
    at,
    provider: 'anthropic',
    endpoint: 'messages',
    model: str(message['model']),
    usage,
    providerRequestId: messageId ?? requestId,
    sessionId: str(obj['sessionId']),
    cwd: str(obj['cwd']),
    branch: str(obj['gitBranch']),
    repoUrl: null,
    tags,
    reportedCostUsd: typeof cost === 'number' && Number.isFinite(cost) && cost >= 0 ? cost : null,
  };
}

/**
 * JSON.parse of the line with `message.content` (the text, thinking and tool input: most of the bytes, none of
 * them needed) cut out first, which halves an import's parsing time. Claude Code writes the Anthropic message's
 * keys in the API's order, `…"content":[…],"stop_reason":…`. The cut keeps the line valid JSON only when it removes
 * exactly one complete array; a cut anywhere else (another key named so inside a tool input, a future key order)
 * leaves unbalanced brackets, the parse fails, and the whole line is parsed instead.
 */
export function parseWithoutContent(line: string): ReturnType<typeof parseJsonObject> {
  const start = line.indexOf('"content":[');
  if (start > 0) {
    const end = line.indexOf('],"stop_reason"', start);
    if (end > 0) {
      const slim = parseJsonObject(`${line.slice(0, start + 11)}${line.slice(end)}`);
      if (typeof slim !== 'string') return slim;
    }
  }
  return parseJsonObject(line);
}

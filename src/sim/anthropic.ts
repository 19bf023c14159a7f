/** Anthropic `POST /v1/messages` (non-stream and stream) and `POST /v1/messages/count_tokens`. */
import { parseDirectives } from './directives.js';
import { SimError } from './errors.js';
import { findModel, type SimModel } from './models.js';
import { planOutput, type FinishReason, type OutputPlan } from './plan.js';
import { blockText, contentText, promptFingerprint, promptTokenCount, promptTokens, toolText, type Prompt } from './prompt.js';
import { MIN_CACHEABLE_TOKENS, type AnthropicCacheUsage, type Breakpoint } from './prompt-cache.js';
import { randomChars } from './random.js';
import { jsonReply, scriptedReply, sse, timingFor, type Frame, type Reply, type SimContext } from './reply.js';
import { CountTokensBody, MessagesBody, parseBody } from './schemas.js';

interface CacheControlLike {
  type?: unknown;
  ttl?: unknown;
}

function ttlOf(cc: unknown): Breakpoint['ttl'] | undefined {
  if (typeof cc !== 'object' || cc === null) return undefined;
  const c = cc as CacheControlLike;
  if (c.type !== 'ephemeral') return undefined;
  return c.ttl === '1h' ? '1h' : '5m';
}

/** Prompt order as the API caches it: tools, then system, then messages; one part per content block. */
export function anthropicPrompt(body: CountTokensBody): { prompt: Prompt; breakpoints: Breakpoint[] } {
  const parts: Prompt['parts'] = [];
  const breakpoints: Breakpoint[] = [];
  const push = (text: string, cacheControl: unknown) => {
    parts.push({ text });
    const ttl = ttlOf(cacheControl);
    if (ttl !== undefined) breakpoints.push({ part: parts.length - 1, ttl });
  };
  for (const tool of body.tools ?? []) push(toolText(tool.name, tool.description, tool.input_schema), tool.cache_control);
  if (typeof body.system === 'string') push(body.system, undefined);
  else for (const block of body.system ?? []) push(block.text ?? '', block.cache_control);

  let lastUserText = '';
  for (const message of body.messages) {
    if (typeof message.content === 'string') push(message.content, undefined);
    else {
      for (const block of message.content) {
        push(blockText(block), typeof block === 'object' && block !== null ? (block as { cache_control?: unknown }).cache_control : undefined);
      }
    }
    if (message.role === 'user') lastUserText = contentText(message.content);
  }
  // Automatic caching: a top-level cache_control puts the breakpoint on the last block.
  const auto = ttlOf(body.cache_control);
  if (auto !== undefined && parts.length > 0) breakpoints.push({ part: parts.length - 1, ttl: auto });

  const last = body.messages[body.messages.length - 1];
  const answersToolResult =
    Array.isArray(last?.content) && last.content.some((b) => typeof b === 'object' && b !== null && (b as { type?: unknown }).type === 'tool_result');
  return { prompt: { parts, lastUserText, endsWithUser: last?.role === 'user' && !answersToolResult }, breakpoints };
}

function anthropicModel(id: string): SimModel {
  const model = findModel(id);
  if (model === undefined || model.provider !== 'anthropic' || model.kind !== 'chat') throw new SimError(404, `model: ${id}`);
  return model;
}

function thinkingBudget(body: MessagesBody, model: SimModel): number | undefined {
  const thinking = body.thinking;
  if (thinking == null || thinking.type === 'disabled') return undefined;
  if (!model.reasoning) throw new SimError(400, `thinking: "${model.id}" does not support extended thinking.`);
  if (thinking.type === 'adaptive') return body.max_tokens - 1;
  if (thinking.type !== 'enabled') throw new SimError(400, `thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'`);
  const budget = thinking.budget_tokens;
  if (budget === undefined) throw new SimError(400, 'thinking.enabled.budget_tokens: Field required');
  if (budget < 1024) throw new SimError(400, 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
  if (budget >= body.max_tokens) {
    throw new SimError(400, '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size');
  }
  return budget;
}

function chosenTool(body: MessagesBody, prompt: Prompt): { name: string; schema: unknown } | undefined {
  const tools = (body.tools ?? []).filter((t) => t.type === undefined || t.type === 'custom');
  const choice = body.tool_choice;
  if (tools.length === 0 || choice?.type === 'none' || !prompt.endsWithUser) return undefined;
  let tool = tools[0];
  if (choice?.type === 'tool') {
    tool = tools.find((t) => t.name === choice.name);
    if (tool === undefined) throw new SimError(400, `tool_choice.name: tool "${String(choice.name)}" not found in tools`);
  }
  return tool === undefined ? undefined : { name: tool.name, schema: tool.input_schema };
}

/**
 * The web searches the answer runs before it (`tools` with a `web_search_…` server tool): once, `[[sim:searches=N]]`
 * times, at most the tool's `max_uses`; none when the conversation does not end with the user. Each is a
 * `server_tool_use` block and its `web_search_tool_result`, and counts in `usage.server_tool_use.web_search_requests`.
 */
function webSearches(body: MessagesBody, prompt: Prompt, times: number, ctx: SimContext): { use: object; result: object }[] {
  const tool = (body.tools ?? []).find((t) => t.type?.startsWith('web_search_') === true);
  if (tool === undefined || body.tool_choice?.type === 'none' || !prompt.endsWithUser) return [];
  const n = Math.min(times, tool.max_uses ?? times);
  const query = prompt.lastUserText.split(/\s+/).filter((w) => w !== '' && !w.startsWith('[[')).slice(0, 6).join(' ');
  return Array.from({ length: n }, (_, i) => {
    const id = 'srvtoolu_01' + randomChars(ctx.idRng, 22);
    return {
      use: { type: 'server_tool_use', id, name: tool.name, input: { query } },
      result: {
        type: 'web_search_tool_result',
        tool_use_id: id,
        content: [{ type: 'web_search_result', title: `Result ${i + 1}`, url: `https://example.com/${i + 1}`, encrypted_content: randomChars(ctx.idRng, 32), page_age: null }],
      },
    };
  });
}

/** Fast mode (`speed: "fast"`) only on the models that have it, as the API answers. */
function speedOf(body: MessagesBody, model: SimModel): string | undefined {
  const speed = body.speed ?? undefined;
  if (speed === 'fast' && model.fastMode !== true) throw new SimError(400, `speed: fast mode is not supported for model ${model.id}`);
  return speed;
}

function stopReason(finish: FinishReason): string {
  if (finish === 'tool') return 'tool_use';
  if (finish === 'length') return 'max_tokens';
  return finish === 'stop_sequence' ? 'stop_sequence' : 'end_turn';
}

export function handleCountTokens(raw: unknown): Reply {
  const body = parseBody(CountTokensBody, raw, 'anthropic');
  anthropicModel(body.model);
  const { prompt } = anthropicPrompt(body);
  return jsonReply({ input_tokens: promptTokenCount(prompt.parts) }, { ttftMs: 0, itlMs: 0, dieAfter: undefined }, 0);
}

export function handleMessages(raw: unknown, ctx: SimContext): Reply {
  const body = parseBody(MessagesBody, raw, 'anthropic');
  const model = anthropicModel(body.model);
  const budget = thinkingBudget(body, model);
  const speed = speedOf(body, model);
  const { prompt, breakpoints } = anthropicPrompt(body);
  const directives = parseDirectives(prompt.lastUserText);
  const scripted = scriptedReply(directives, 'anthropic', ctx);
  if (scripted !== undefined) return scripted;

  const total = promptTokenCount(prompt.parts);
  const cache: AnthropicCacheUsage =
    breakpoints.length > 0 && total >= MIN_CACHEABLE_TOKENS
      ? ctx.anthropicCache.use(model.id, promptTokens(prompt.parts), breakpoints, ctx.now())
      : { read: 0, write5m: 0, write1h: 0 };
  const plan = planOutput({
    seed: ctx.seed,
    model: model.id,
    fingerprint: promptFingerprint(prompt.parts),
    inputTokens: total,
    maxTokens: body.max_tokens,
    directives,
    tool: chosenTool(body, prompt),
    hiddenReasoning: undefined,
    thinkingBudget: budget,
    stop: body.stop_sequences ?? [],
  });
  // Disjoint buckets: input_tokens is what was neither read from nor written to the cache.
  const inputUsage = {
    input_tokens: total - cache.read - cache.write5m - cache.write1h,
    cache_creation_input_tokens: cache.write5m + cache.write1h,
    cache_read_input_tokens: cache.read,
  };
  const searches = webSearches(body, prompt, directives.searches ?? 1, ctx);
  const toolUse = searches.length > 0 ? { server_tool_use: { web_search_requests: searches.length } } : {};
  const cacheUsage = { ...inputUsage, cache_creation: { ephemeral_5m_input_tokens: cache.write5m, ephemeral_1h_input_tokens: cache.write1h } };
  const served = { service_tier: 'standard', ...(speed !== undefined ? { speed } : {}) };
  const usage = { ...cacheUsage, output_tokens: plan.outputTokens, ...toolUse, ...served };
  const id = 'msg_01' + randomChars(ctx.idRng, 22);
  const toolId = 'toolu_01' + randomChars(ctx.idRng, 22);
  const timing = timingFor(directives, ctx);
  const head = { id, type: 'message', role: 'assistant', model: model.id };

  if (body.stream !== true) {
    const content: unknown[] = [];
    if (plan.thinking !== undefined) content.push({ type: 'thinking', thinking: plan.thinking.text, signature: plan.thinking.signature });
    for (const s of searches) content.push(s.use, s.result);
    if (plan.toolCall !== undefined) content.push({ type: 'tool_use', id: toolId, name: plan.toolCall.name, input: plan.toolCall.input });
    else content.push({ type: 'text', text: plan.text });
    const message = { ...head, content, stop_reason: stopReason(plan.finish), stop_sequence: plan.stopSequence, usage };
    return jsonReply(message, timing, plan.contentChunks);
  }
  // The searches are counted in message_delta's usage (cumulative, like output_tokens), not message_start's.
  const start = { ...head, content: [], stop_reason: null, stop_sequence: null, usage: { ...cacheUsage, output_tokens: 1, ...served } };
  const delta = {
    delta: { stop_reason: stopReason(plan.finish), stop_sequence: plan.stopSequence },
    usage: { ...inputUsage, output_tokens: plan.outputTokens, ...toolUse },
  };
  return { kind: 'stream', frames: messageFrames(plan, start, delta, toolId, searches), timing };
}

function messageFrames(plan: OutputPlan, start: object, delta: object, toolId: string, searches: { use: object; result: object }[] = []): Frame[] {
  const frames: Frame[] = [];
  const event = (type: string, payload: object, content = false) => frames.push({ data: sse(type, { type, ...payload }), content });
  let index = 0;
  const blockStart = (block: object) => {
    event('content_block_start', { index, content_block: block });
    if (index === 0) event('ping', {});
  };
  const blockDelta = (d: object, content = true) => event('content_block_delta', { index, delta: d }, content);

  event('message_start', { message: start });
  if (plan.thinking !== undefined) {
    blockStart({ type: 'thinking', thinking: '', signature: '' });
    for (const thinking of plan.thinking.chunks) blockDelta({ type: 'thinking_delta', thinking });
    for (const signature of plan.thinking.signatureChunks) blockDelta({ type: 'signature_delta', signature }, false);
    event('content_block_stop', { index: index++ });
  }
  for (const { use, result } of searches) {
    const { input, ...opening } = use as { input: unknown };
    blockStart({ ...opening, input: {} });
    blockDelta({ type: 'input_json_delta', partial_json: JSON.stringify(input) }, false);
    event('content_block_stop', { index: index++ });
    blockStart(result);
    event('content_block_stop', { index: index++ });
  }
  if (plan.toolCall !== undefined) {
    blockStart({ type: 'tool_use', id: toolId, name: plan.toolCall.name, input: {} });
    blockDelta({ type: 'input_json_delta', partial_json: '' }, false);
    for (const partial of plan.toolCall.fragments) blockDelta({ type: 'input_json_delta', partial_json: partial });
  } else {
    blockStart({ type: 'text', text: '' });
    for (const text of plan.textChunks) blockDelta({ type: 'text_delta', text });
  }
  event('content_block_stop', { index });
  event('message_delta', delta);
  event('message_stop', {});
  return frames;
}

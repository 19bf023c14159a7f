/** OpenAI `POST /v1/responses`, non-stream and stream (named SSE events with `sequence_number`). */
import { parseDirectives } from './directives.js';
import { SimError } from './errors.js';
import type { SimModel } from './models.js';
import { openaiId, openaiModel, refuseReasoning, responsesUsage, servedTier } from './openai-common.js';
import { planOutput, type OutputPlan } from './plan.js';
import { WORDS } from './prose.js';
import { contentText, promptFingerprint, promptTokenCount, promptTokens, toolText, type Prompt } from './prompt.js';
import { MIN_CACHEABLE_TOKENS } from './prompt-cache.js';
import { jsonReply, scriptedReply, sse, timingFor, type Frame, type Reply, type SimContext } from './reply.js';
import { parseBody, ResponsesBody } from './schemas.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function responsesPrompt(body: ResponsesBody): Prompt {
  const parts: Prompt['parts'] = [];
  if (body.instructions != null && body.instructions !== '') parts.push({ text: body.instructions });
  for (const tool of body.tools ?? []) {
    if (tool.type === 'function' && tool.name !== undefined) {
      parts.push({ text: toolText(tool.name, tool.description ?? undefined, tool.parameters) });
    }
  }
  if (typeof body.input === 'string') {
    parts.push({ text: body.input });
    return { parts, lastUserText: body.input, endsWithUser: true };
  }
  let lastUserText = '';
  let endsWithUser = false;
  for (const item of body.input) {
    if (!isRecord(item)) continue;
    const type = typeof item.type === 'string' ? item.type : 'message';
    let text = '';
    if (type === 'message') text = contentText(item.content);
    else if (type === 'function_call') text = `${String(item.name ?? '')}${String(item.arguments ?? '')}`;
    else if (type === 'function_call_output') text = contentText(item.output);
    if (text !== '') parts.push({ text });
    const isUser = type === 'message' && item.role === 'user';
    if (isUser) lastUserText = text;
    endsWithUser = isUser;
  }
  return { parts, lastUserText, endsWithUser };
}

function chosenTool(body: ResponsesBody, prompt: Prompt): { name: string; schema: unknown } | undefined {
  const tools = (body.tools ?? []).filter((t) => t.type === 'function' && t.name !== undefined);
  const choice = body.tool_choice;
  if (tools.length === 0 || choice === 'none' || !prompt.endsWithUser) return undefined;
  let tool = tools[0];
  if (isRecord(choice) && choice.type === 'function' && choice.name !== undefined) {
    tool = tools.find((t) => t.name === choice.name);
    if (tool === undefined) {
      throw new SimError(400, `Tool choice '${choice.name}' not found in 'tools' parameter.`, { param: 'tool_choice' });
    }
  }
  return tool?.name === undefined ? undefined : { name: tool.name, schema: tool.parameters };
}

/** Built-in tools that search, by the type of their `tools` entry, with the output item each call adds. */
const SEARCH_TOOLS: ReadonlyMap<string, 'web_search_call' | 'file_search_call'> = new Map([
  ['web_search', 'web_search_call'],
  ['web_search_preview', 'web_search_call'],
  ['web_search_2025_08_26', 'web_search_call'],
  ['web_search_preview_2025_03_11', 'web_search_call'],
  ['file_search', 'file_search_call'],
]);

/**
 * The searches the answer runs before it: each built-in search tool declared, once (`[[sim:searches=N]]`: N times),
 * when the conversation ends with the user and tool_choice allows tools. One output item per call, as OpenAI reports
 * them (and bills them: per call).
 */
function searchCalls(body: ResponsesBody, prompt: Prompt, times: number, ctx: SimContext): Array<Record<string, unknown>> {
  if (body.tool_choice === 'none' || !prompt.endsWithUser) return [];
  const words = prompt.lastUserText.split(/\s+/).filter((w) => w !== '' && !w.startsWith('[[')).slice(0, 6);
  const query = words.length > 0 ? words.join(' ') : (WORDS[0] ?? 'query');
  const items: Array<Record<string, unknown>> = [];
  for (const tool of body.tools ?? []) {
    const item = SEARCH_TOOLS.get(tool.type);
    for (let i = 0; item !== undefined && i < times; i++) {
      items.push(
        item === 'web_search_call'
          ? { id: openaiId(ctx, 'ws_', 50, 'hex'), type: item, status: 'completed', action: { type: 'search', query } }
          : { id: openaiId(ctx, 'fs_', 50, 'hex'), type: item, status: 'completed', queries: [query], results: null },
      );
    }
  }
  return items;
}

interface Ids {
  response: string;
  reasoning: string;
  message: string;
  functionCall: string;
  callId: string;
}

function outputItems(plan: OutputPlan, ids: Ids, reasoning: boolean, searches: Array<Record<string, unknown>>) {
  const items: Array<Record<string, unknown>> = [];
  if (reasoning) items.push({ id: ids.reasoning, type: 'reasoning', summary: [] });
  items.push(...searches);
  if (plan.toolCall !== undefined) {
    items.push({
      id: ids.functionCall,
      type: 'function_call',
      status: 'completed',
      arguments: plan.toolCall.arguments,
      call_id: ids.callId,
      name: plan.toolCall.name,
    });
  } else {
    items.push({
      id: ids.message,
      type: 'message',
      status: plan.finish === 'length' ? 'incomplete' : 'completed',
      content: [{ type: 'output_text', annotations: [], logprobs: [], text: plan.text }],
      role: 'assistant',
    });
  }
  return items;
}

function responseObject(body: ResponsesBody, model: SimModel, id: string, createdAt: number) {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null as null | { reason: string },
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: null,
    model: model.id,
    output: [] as unknown[],
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    prompt_cache_key: null,
    reasoning: { effort: model.reasoning ? (body.reasoning?.effort ?? 'medium') : null, summary: null },
    safety_identifier: null,
    service_tier: servedTier(body.service_tier),
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_logprobs: 0,
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: null as unknown,
    user: null,
    metadata: body.metadata ?? {},
  };
}

export function handleResponses(raw: unknown, ctx: SimContext): Reply {
  const body = parseBody(ResponsesBody, raw, 'openai');
  const model = openaiModel(body.model, 'chat', 'v1/responses');
  refuseReasoning(model, 'reasoning.effort', body.reasoning?.effort);
  const prompt = responsesPrompt(body);
  const directives = parseDirectives(prompt.lastUserText);
  const scripted = scriptedReply(directives, 'openai', ctx);
  if (scripted !== undefined) return scripted;

  const inputTokens = promptTokenCount(prompt.parts);
  const cached =
    inputTokens >= MIN_CACHEABLE_TOKENS ? ctx.openaiCache.use(model.id, promptTokens(prompt.parts), inputTokens) : 0;
  const plan = planOutput({
    seed: ctx.seed,
    model: model.id,
    fingerprint: promptFingerprint(prompt.parts),
    inputTokens,
    maxTokens: body.max_output_tokens ?? undefined,
    directives,
    tool: chosenTool(body, prompt),
    hiddenReasoning: model.reasoning ? { effort: body.reasoning?.effort ?? undefined } : undefined,
    thinkingBudget: undefined,
    stop: [],
  });
  const ids: Ids = {
    response: openaiId(ctx, 'resp_', 50, 'hex'),
    reasoning: openaiId(ctx, 'rs_', 50, 'hex'),
    message: openaiId(ctx, 'msg_', 50, 'hex'),
    functionCall: openaiId(ctx, 'fc_', 50, 'hex'),
    callId: openaiId(ctx, 'call_', 24),
  };
  const searches = searchCalls(body, prompt, directives.searches ?? 1, ctx);
  const started = responseObject(body, model, ids.response, Math.floor(ctx.now() / 1000));
  const final = {
    ...started,
    status: plan.finish === 'length' ? 'incomplete' : 'completed',
    incomplete_details: plan.finish === 'length' ? { reason: 'max_output_tokens' } : null,
    output: outputItems(plan, ids, model.reasoning, searches),
    usage: responsesUsage(inputTokens, cached, plan.outputTokens, plan.reasoningTokens),
  };
  const timing = timingFor(directives, ctx);
  if (body.stream !== true) return jsonReply(final, timing, plan.contentChunks);
  return { kind: 'stream', frames: responseFrames(plan, ids, started, final, model.reasoning, searches.length), timing };
}

function responseFrames(
  plan: OutputPlan,
  ids: Ids,
  started: ReturnType<typeof responseObject>,
  final: Record<string, unknown> & { status: string },
  reasoning: boolean,
  searches: number,
): Frame[] {
  const frames: Frame[] = [];
  let seq = 0;
  const event = (type: string, payload: object, content = false) =>
    frames.push({ data: sse(type, { type, sequence_number: seq++, ...payload }), content });

  event('response.created', { response: started });
  event('response.in_progress', { response: started });
  const done = final.output as Array<Record<string, unknown>>;
  let index = 0;
  if (reasoning) {
    event('response.output_item.added', { output_index: 0, item: done[0] });
    event('response.output_item.done', { output_index: 0, item: done[0] });
    index = 1;
  }
  for (let end = index + searches; index < end; index++) {
    const call = done[index] ?? {};
    const kind = String(call.type).replace(/_call$/, '');
    const at = { output_index: index, item_id: call.id };
    event('response.output_item.added', { output_index: index, item: { ...call, status: 'in_progress' } });
    event(`response.${kind}_call.in_progress`, at);
    event(`response.${kind}_call.searching`, at);
    event(`response.${kind}_call.completed`, at);
    event('response.output_item.done', { output_index: index, item: call });
  }
  const item = done[index] ?? {};
  if (plan.toolCall !== undefined) {
    const itemId = ids.functionCall;
    event('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress', arguments: '' } });
    for (const delta of plan.toolCall.fragments) {
      event('response.function_call_arguments.delta', { item_id: itemId, output_index: index, delta }, true);
    }
    event('response.function_call_arguments.done', {
      item_id: itemId,
      output_index: index,
      name: plan.toolCall.name,
      arguments: plan.toolCall.arguments,
    });
  } else {
    const itemId = ids.message;
    const at = { item_id: itemId, output_index: index, content_index: 0 };
    event('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress', content: [] } });
    event('response.content_part.added', { ...at, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } });
    for (const delta of plan.textChunks) event('response.output_text.delta', { ...at, delta, logprobs: [] }, true);
    event('response.output_text.done', { ...at, text: plan.text, logprobs: [] });
    event('response.content_part.done', { ...at, part: { type: 'output_text', annotations: [], logprobs: [], text: plan.text } });
  }
  event('response.output_item.done', { output_index: index, item });
  event(final.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: final });
  return frames;
}

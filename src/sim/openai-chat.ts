/** OpenAI `POST /v1/chat/completions`, non-stream and stream. */
import { parseDirectives } from './directives.js';
import { SimError } from './errors.js';
import { chatUsage, openaiId, openaiModel, refuseReasoning, servedTier, systemFingerprint } from './openai-common.js';
import type { SimModel } from './models.js';
import { planOutput, type FinishReason, type OutputPlan } from './plan.js';
import { contentText, promptFingerprint, promptTokenCount, promptTokens, toolText, type Prompt } from './prompt.js';
import { MIN_CACHEABLE_TOKENS } from './prompt-cache.js';
import { jsonReply, scriptedReply, sse, timingFor, type Frame, type Reply, type SimContext } from './reply.js';
import { ChatCompletionBody, parseBody } from './schemas.js';

export function chatPrompt(body: ChatCompletionBody): Prompt {
  const parts: Prompt['parts'] = [];
  for (const tool of body.tools ?? []) {
    parts.push({ text: toolText(tool.function.name, tool.function.description ?? undefined, tool.function.parameters) });
  }
  let lastUserText = '';
  for (const message of body.messages) {
    const text = contentText(message.content);
    if (text !== '') parts.push({ text });
    const calls = message.tool_calls;
    if (Array.isArray(calls)) {
      for (const call of calls as Array<{ function?: { name?: unknown; arguments?: unknown } }>) {
        const fn = call?.function;
        const name = typeof fn?.name === 'string' ? fn.name : '';
        const args = typeof fn?.arguments === 'string' ? fn.arguments : '';
        if (name !== '' || args !== '') parts.push({ text: name + args });
      }
    }
    if (message.role === 'user') lastUserText = text;
  }
  const last = body.messages[body.messages.length - 1];
  return { parts, lastUserText, endsWithUser: last?.role === 'user' };
}

function chosenTool(body: ChatCompletionBody, prompt: Prompt): { name: string; schema: unknown } | undefined {
  const tools = (body.tools ?? []).filter((t) => (t.type ?? 'function') === 'function');
  const choice = body.tool_choice;
  if (tools.length === 0 || choice === 'none' || !prompt.endsWithUser) return undefined;
  let tool = tools[0];
  if (typeof choice === 'object' && choice !== null && choice.function?.name !== undefined) {
    const wanted = choice.function.name;
    tool = tools.find((t) => t.function.name === wanted);
    if (tool === undefined) {
      throw new SimError(400, `Invalid value for 'tool_choice': no function named '${wanted}' in 'tools'.`, {
        param: 'tool_choice',
        openaiCode: 'invalid_value',
      });
    }
  }
  return tool === undefined ? undefined : { name: tool.function.name, schema: tool.function.parameters };
}

/**
 * Audio the simulated voice models hear and speak, in tokens: 10 per second of input audio (24 kHz 16-bit mono PCM,
 * 48,000 bytes a second, however it is encoded), and 5 audio tokens per token of the spoken transcript.
 */
const INPUT_AUDIO_BYTES_PER_TOKEN = 4_800;
const AUDIO_TOKENS_PER_TRANSCRIPT_TOKEN = 5;

/** Input audio tokens of the `input_audio` content parts (`{input_audio: {data: <base64>, format}}`). */
export function inputAudioTokens(body: ChatCompletionBody): number {
  let tokens = 0;
  for (const message of body.messages) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content as unknown[]) {
      if (typeof part !== 'object' || part === null || (part as { type?: unknown }).type !== 'input_audio') continue;
      const data = (part as { input_audio?: { data?: unknown } }).input_audio?.data;
      const bytes = typeof data === 'string' ? Math.floor((data.replace(/=+$/, '').length * 3) / 4) : 0;
      tokens += Math.max(1, Math.ceil(bytes / INPUT_AUDIO_BYTES_PER_TOKEN));
    }
  }
  return tokens;
}

/** Whether the answer is spoken: `modalities` asks for audio, which only a voice model (gpt-audio) gives. */
function speaks(body: ChatCompletionBody, model: SimModel): boolean {
  if (!body.modalities?.includes('audio')) return false;
  if (model.audio !== true) {
    throw new SimError(400, `This model does not support audio output: '${model.id}'.`, { param: 'modalities', openaiCode: 'invalid_value' });
  }
  return true;
}

export function chatFinishReason(finish: FinishReason): 'stop' | 'length' | 'tool_calls' {
  if (finish === 'tool') return 'tool_calls';
  return finish === 'length' ? 'length' : 'stop';
}

export function handleChatCompletions(raw: unknown, ctx: SimContext): Reply {
  const body = parseBody(ChatCompletionBody, raw, 'openai');
  const model = openaiModel(body.model, 'chat', 'v1/chat/completions');
  refuseReasoning(model, 'reasoning_effort', body.reasoning_effort);
  const prompt = chatPrompt(body);
  const directives = parseDirectives(prompt.lastUserText);
  const scripted = scriptedReply(directives, 'openai', ctx);
  if (scripted !== undefined) return scripted;

  const inputTokens = promptTokenCount(prompt.parts);
  const cached =
    inputTokens >= MIN_CACHEABLE_TOKENS ? ctx.openaiCache.use(model.id, promptTokens(prompt.parts), inputTokens) : 0;
  const stop = body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const plan = planOutput({
    seed: ctx.seed,
    model: model.id,
    fingerprint: promptFingerprint(prompt.parts),
    inputTokens,
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    directives,
    tool: chosenTool(body, prompt),
    hiddenReasoning: model.reasoning ? { effort: body.reasoning_effort ?? undefined } : undefined,
    thinkingBudget: undefined,
    stop,
  });
  const spoken = speaks(body, model) && plan.toolCall === undefined;
  const audio = {
    input: model.audio === true ? inputAudioTokens(body) : 0,
    output: spoken ? plan.textTokens * AUDIO_TOKENS_PER_TRANSCRIPT_TOKEN : 0,
  };
  const usage = chatUsage(inputTokens, cached, plan.outputTokens, plan.reasoningTokens, audio);
  const id = openaiId(ctx, 'chatcmpl-', 29);
  const audioId = spoken ? openaiId(ctx, 'audio_', 32, 'hex') : undefined;
  const toolCallId = plan.toolCall === undefined ? undefined : openaiId(ctx, 'call_', 24);
  const created = Math.floor(ctx.now() / 1000);
  const timing = timingFor(directives, ctx);
  const base = {
    id,
    object: 'chat.completion.chunk',
    created,
    model: model.id,
    service_tier: servedTier(body.service_tier),
    system_fingerprint: systemFingerprint(model.id),
  };

  if (body.stream !== true) {
    const message =
      audioId !== undefined
        ? { role: 'assistant', content: null, refusal: null, annotations: [], audio: spokenAudio(audioId, plan.text, created) }
        : plan.toolCall === undefined
        ? { role: 'assistant', content: plan.text, refusal: null, annotations: [] }
        : {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: toolCallId, type: 'function', function: { name: plan.toolCall.name, arguments: plan.toolCall.arguments } }],
            refusal: null,
            annotations: [],
          };
    const completion = {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message, logprobs: null, finish_reason: chatFinishReason(plan.finish) }],
      usage,
    };
    return jsonReply(completion, timing, plan.contentChunks);
  }

  const includeUsage = body.stream_options?.include_usage === true;
  return { kind: 'stream', frames: chatFrames(plan, base, includeUsage, usage, toolCallId ?? '', audioId), timing };
}

/** The spoken answer: its transcript, and a short silent WAV standing in for the speech. */
function spokenAudio(id: string, transcript: string, created: number) {
  const wav = Buffer.alloc(48);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(40, 4);
  wav.write('WAVEfmt ', 8, 'ascii');
  return { id, data: wav.toString('base64'), expires_at: created + 3600, transcript };
}

function chatFrames(plan: OutputPlan, base: object, includeUsage: boolean, usage: object, toolCallId: string, audioId?: string): Frame[] {
  // Hot path of the benchmark baseline: the chunk envelope is serialised once, only the delta per chunk.
  const head = `data: ${JSON.stringify(base).slice(0, -1)},"choices":[{"index":0,"delta":`;
  const tail = (finish: string | null) =>
    `,"logprobs":null,"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]${includeUsage ? ',"usage":null' : ''}}\n\n`;
  const open = tail(null);
  const chunk = (delta: object, finish: string | null = null) => head + JSON.stringify(delta) + (finish === null ? open : tail(finish));
  const frames: Frame[] = [];
  if (audioId !== undefined) {
    // A spoken stream carries the transcript in `delta.audio` (and the speech, left out here).
    frames.push({ data: chunk({ role: 'assistant', content: null, refusal: null }), content: false });
    for (const transcript of plan.textChunks) frames.push({ data: chunk({ audio: { id: audioId, transcript } }), content: true });
  } else if (plan.toolCall === undefined) {
    frames.push({ data: chunk({ role: 'assistant', content: '', refusal: null }), content: false });
    for (const text of plan.textChunks) frames.push({ data: `${head}{"content":${JSON.stringify(text)}}${open}`, content: true });
  } else {
    const first = { index: 0, id: toolCallId, type: 'function', function: { name: plan.toolCall.name, arguments: '' } };
    frames.push({ data: chunk({ role: 'assistant', content: null, tool_calls: [first], refusal: null }), content: false });
    for (const fragment of plan.toolCall.fragments) {
      frames.push({ data: chunk({ tool_calls: [{ index: 0, function: { arguments: fragment } }] }), content: true });
    }
  }
  frames.push({ data: chunk({}, chatFinishReason(plan.finish)), content: false });
  if (includeUsage) frames.push({ data: sse(undefined, { ...base, choices: [], usage }), content: false });
  frames.push({ data: 'data: [DONE]\n\n', content: false });
  return frames;
}

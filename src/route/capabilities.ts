import type { RequestFeatures } from './features.js';
import type { ModelCapabilities } from './config.js';

/**
 * What a routing target must support for a given request. Built-in values from the providers' model pages
 * (November 2026); `routing.capabilities` in the config adds or corrects models. A model in neither is assumed
 * to have none of the capabilities and a 32k window: routing to an unknown model only ever takes plain requests.
 *
 * `reasoning`: accepts a reasoning parameter (OpenAI `reasoning_effort` / Responses `reasoning`: the o-series and
 * gpt-5 family; Anthropic `thinking`: Claude 3.7 Sonnet and the Claude 4 models). gpt-4o and gpt-4.1 answer 400
 * unsupported_parameter, Claude 3.5 Haiku 400 "does not support extended thinking".
 *
 * `effort`: accepts Anthropic's `output_config.effort`. Anthropic's effort page lists Claude Opus 4.5 and later and
 * Sonnet 4.6 and later, not Haiku 4.5: none of the models below (Opus 4.1, Sonnet 4.5 and 4, Haiku 4.5, 3.5 Haiku),
 * so such a request stays on the model asked for unless `routing.capabilities` names a model with `effort: true`.
 *
 * `audio`: hears `input_audio` parts or speaks (`modalities: ["audio"]`): only the audio models. Their OpenAI model
 * pages: text and audio in and out, no image input, function calling, no structured outputs, a 128k window.
 */
export const BUILTIN_CAPABILITIES: Readonly<Record<string, ModelCapabilities>> = {
  'gpt-5': { tools: true, vision: true, jsonSchema: true, contextTokens: 400_000, reasoning: true, effort: false, audio: false },
  'gpt-5-mini': { tools: true, vision: true, jsonSchema: true, contextTokens: 400_000, reasoning: true, effort: false, audio: false },
  'gpt-5-nano': { tools: true, vision: true, jsonSchema: true, contextTokens: 400_000, reasoning: true, effort: false, audio: false },
  'gpt-4.1': { tools: true, vision: true, jsonSchema: true, contextTokens: 1_047_576, reasoning: false, effort: false, audio: false },
  'gpt-4.1-mini': { tools: true, vision: true, jsonSchema: true, contextTokens: 1_047_576, reasoning: false, effort: false, audio: false },
  'gpt-4.1-nano': { tools: true, vision: true, jsonSchema: true, contextTokens: 1_047_576, reasoning: false, effort: false, audio: false },
  'gpt-4o': { tools: true, vision: true, jsonSchema: true, contextTokens: 128_000, reasoning: false, effort: false, audio: false },
  'gpt-4o-mini': { tools: true, vision: true, jsonSchema: true, contextTokens: 128_000, reasoning: false, effort: false, audio: false },
  o3: { tools: true, vision: true, jsonSchema: true, contextTokens: 200_000, reasoning: true, effort: false, audio: false },
  'o4-mini': { tools: true, vision: true, jsonSchema: true, contextTokens: 200_000, reasoning: true, effort: false, audio: false },
  'gpt-audio': { tools: true, vision: false, jsonSchema: false, contextTokens: 128_000, reasoning: false, effort: false, audio: true },
  'gpt-audio-mini': { tools: true, vision: false, jsonSchema: false, contextTokens: 128_000, reasoning: false, effort: false, audio: true },
  'claude-opus-4-1': { tools: true, vision: true, jsonSchema: true, contextTokens: 200_000, reasoning: true, effort: false, audio: false },
  'claude-sonnet-4-5': { tools: true, vision: true, jsonSchema: true, contextTokens: 200_000, reasoning: true, effort: false, audio: false },
  // Structured outputs (output_config.format, in beta output_format) came after Sonnet 4; its 1M window is a beta header away.
  'claude-sonnet-4-20250514': { tools: true, vision: true, jsonSchema: false, contextTokens: 200_000, reasoning: true, effort: false, audio: false },
  'claude-haiku-4-5': { tools: true, vision: true, jsonSchema: true, contextTokens: 200_000, reasoning: true, effort: false, audio: false },
  'claude-3-5-haiku-20241022': { tools: true, vision: false, jsonSchema: false, contextTokens: 200_000, reasoning: false, effort: false, audio: false },
};

const UNKNOWN: ModelCapabilities = { tools: false, vision: false, jsonSchema: false, contextTokens: 32_000, reasoning: false, effort: false, audio: false };

export function capabilitiesOf(model: string, overrides: Readonly<Record<string, ModelCapabilities>>): ModelCapabilities {
  return knownCapabilitiesOf(model, overrides) ?? UNKNOWN;
}

/** The capabilities of a model the config or the built-in table knows; undefined for any other. */
export function knownCapabilitiesOf(model: string, overrides: Readonly<Record<string, ModelCapabilities>>): ModelCapabilities | undefined {
  return overrides[model] ?? BUILTIN_CAPABILITIES[model];
}

/**
 * Whether `target` can do everything `asked` can, in a window at least as large: then whatever the stored turns of a
 * conversation hold (images, tool calls, reasoning items, their length), or a file not in the body, if the model asked
 * for could take them, so can the target. An unknown model asked for (null) is covered by none.
 */
function covers(target: ModelCapabilities, asked: ModelCapabilities | null): boolean {
  if (asked === null) return false;
  return (
    target.contextTokens >= asked.contextTokens &&
    (target.tools || !asked.tools) &&
    (target.vision || !asked.vision) &&
    (target.jsonSchema || !asked.jsonSchema) &&
    (target.reasoning || !asked.reasoning) &&
    (target.effort || !asked.effort) &&
    (target.audio || !asked.audio)
  );
}

/**
 * Input tokens, estimated high on purpose: UTF-8 bytes / 2 (English runs ~4 bytes a token, CJK 2-3), so a
 * request anywhere near a cheaper model's window stays where it is.
 */
export function generousInputTokens(bodyBytes: number): number {
  return Math.ceil(bodyBytes / 2);
}

/**
 * The first capability `caps` lacks for this request ("tools", "vision", "audio", "json_schema", "reasoning",
 * "effort", "context"), or null. A request whose earlier turns, or a file, are not in the body (features.storedContext)
 * also needs a target that covers the model asked for (`asked`, null when unknown): "context (previous_response_id)"
 * (or conversation, prompt, file_id, file_url) when it does not.
 */
export function missingCapability(f: RequestFeatures, bodyBytes: number, caps: ModelCapabilities, asked: ModelCapabilities | null = null): string | null {
  if ((f.tools > 0 || f.toolTurns > 0) && !caps.tools) return 'tools';
  if (f.images + f.files > 0 && !caps.vision) return 'vision';
  if (f.audio && !caps.audio) return 'audio';
  if (f.jsonSchema && !caps.jsonSchema) return 'json_schema';
  if (f.reasoningAsked && !caps.reasoning) return 'reasoning';
  if (f.effortAsked && !caps.effort) return 'effort';
  if (generousInputTokens(bodyBytes) + (f.maxOutputTokens ?? 0) > caps.contextTokens) return 'context';
  if (f.storedContext !== null && !covers(caps, asked)) return `context (${f.storedContext})`;
  return null;
}

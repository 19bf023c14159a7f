import type { Endpoint } from '../usage/event.js';
import { isRecord } from '../usage/usage-fields.js';

/**
 * Features of one request body for the complexity classifier (classifier.ts). Pure, CPU only, bounded work: the
 * new user text is scanned up to NEW_TEXT_LIMIT characters; the rest of the conversation is only measured
 * (lengths, counts), never scanned, so a 1 MB agent transcript costs one walk over its messages.
 */

/** The new user text scanned for wording, code and math. Past 4k characters (a page) more text says little more about difficulty, and costs scan time. */
export const NEW_TEXT_LIMIT = 4_000;
/** Nesting deeper than any real message (tool_result → content → blocks) is not followed. */
const MAX_DEPTH = 6;

export interface RequestFeatures {
  /** Characters of the new user text (the last user message, tool results excluded). */
  newChars: number;
  /** Characters of everything else: system prompt, earlier turns, tool results. */
  contextChars: number;
  /** Messages (or Responses input items) in the conversation. */
  turns: number;
  /** Fenced code blocks plus code-looking lines in the new text. */
  codeLines: number;
  /** Math signals in the new text: operators between numbers, LaTeX, equations, units of computation. */
  mathSignals: number;
  /** Numbers in the new text. */
  numbers: number;
  /** Multi-step or analytical wording ("step by step", "prove", "compare", "design"…). */
  multiStep: number;
  /** Simple-task wording ("summarize", "translate", "fix the typo", "classify"…). */
  simpleTask: number;
  /** Lettered answer options (A. … D.): a multiple-choice question. */
  choices: number;
  /** Negated questions ("which is NOT", "EXCEPT"): harder to answer than they look. */
  negations: number;
  /** Sentences in the new text. */
  sentences: number;
  /** Share of words of 9 letters or more: technical vocabulary. */
  longWordShare: number;
  /** The output size the client asked for (max_tokens & co.), null when unset. */
  maxOutputTokens: number | null;
  tools: number;
  /** tool_choice forces a tool ("required", "any", a named tool). */
  toolChoiceForced: boolean;
  /** Tool calls and results already in the conversation: an agent loop. */
  toolTurns: number;
  /**
   * The newest message is a tool result (a chat `tool` message, a Responses `…_output` item, a user message holding
   * an Anthropic `tool_result`): the next step of an agent's turn, whose user text is the turn's, carried forward.
   */
  toolStep: boolean;
  /** JSON schema / structured output requested. */
  jsonSchema: boolean;
  /** JSON mode without a schema (`json_object`). */
  jsonMode: boolean;
  images: number;
  /** Documents or files attached (PDF, input_file). */
  files: number;
  /**
   * Audio heard or spoken: an `input_audio` part (chat, Responses), an earlier spoken answer referred to by id (a chat
   * assistant message's `audio`), `modalities` asking for audio, or the `audio` output parameter.
   */
  audio: boolean;
  /** Reasoning effort asked for: 0 none/minimal/low or unset, 1 medium, 2 high; Anthropic thinking budget counts. */
  reasoning: number;
  /**
   * A reasoning parameter is set, at any level: chat `reasoning_effort`, a Responses `reasoning` with a value, an
   * Anthropic `thinking` not disabled. A model without reasoning refuses the request (400), whatever the effort.
   */
  reasoningAsked: boolean;
  /**
   * Anthropic `output_config.effort` is set, at any level. It is not thinking (Sonnet 4.5 thinks, and refuses effort):
   * only the models that take it do not answer 400.
   */
  effortAsked: boolean;
  /**
   * A Responses request continuing a conversation stored at the provider (`previous_response_id`, `conversation`), or
   * built from a prompt template stored there (`prompt`: its instructions, turns and tools, and variables that may be
   * images or files); or a request of any endpoint with a file uploaded before (`file_id`: a chat `file` part, a
   * Responses `input_file`, an Anthropic `document` whose source is a file) or fetched from a URL (`file_url`: a
   * Responses `input_file`, an Anthropic `document` whose source is a URL): that part is not in the body, so it is
   * neither measured nor seen. Null otherwise.
   */
  storedContext: 'previous_response_id' | 'conversation' | 'prompt' | FileReference | null;
}

export interface Extracted {
  features: RequestFeatures;
  /** The new user text, at most NEW_TEXT_LIMIT characters (the end, where the question usually is). */
  newText: string;
  /** Its distinct lower-cased words (2+ letters): the lexical input of the classifier. */
  words: string[];
}

/** How a file part refers to a file that is not in the body: by the id of an upload, or by a URL. */
type FileReference = 'file_id' | 'file_url';

interface Walk {
  context: number;
  images: number;
  files: number;
  /** The first file part referring to a file not in the body. */
  fileReference: FileReference | null;
  audio: number;
  toolTurns: number;
}

/** Characters of text in a content value (string, OpenAI parts, Anthropic blocks), counting media and tools. */
function measure(content: unknown, w: Walk, depth: number, parts?: string[]): number {
  if (typeof content === 'string') {
    parts?.push(content);
    return content.length;
  }
  if (!Array.isArray(content) || depth > MAX_DEPTH) return 0;
  let n = 0;
  for (const part of content) {
    if (typeof part === 'string') {
      parts?.push(part);
      n += part.length;
      continue;
    }
    if (!isRecord(part)) continue;
    const type = part['type'];
    switch (type) {
      case 'image':
      case 'image_url':
      case 'input_image':
        w.images++;
        break;
      case 'document':
      case 'file':
      case 'input_file':
        w.files++;
        w.fileReference ??= fileReference(part);
        break;
      case 'input_audio':
        w.audio++;
        break;
      case 'tool_use':
      case 'server_tool_use':
      case 'tool_result':
      case 'function_call':
      case 'function_call_output':
        // Tool traffic is context, never the new question, even inside the last user message.
        w.toolTurns++;
        w.context += jsonLength(part['input']) + measure(part['content'], w, depth + 1) + strLen(part['output']);
        break;
      default: {
        const text = part['text'];
        if (typeof text === 'string') {
          parts?.push(text);
          n += text.length;
        }
      }
    }
  }
  return n;
}

/**
 * Where a file part's file is, when not in the body: an Anthropic `source` of type `file` or `url`; a chat `file`
 * part's `file.file_id`; a Responses `input_file`'s `file_id` or `file_url`. Null for a file inline (base64, text).
 */
function fileReference(part: Readonly<Record<string, unknown>>): FileReference | null {
  const source = part['source'];
  if (isRecord(source)) return source['type'] === 'file' ? 'file_id' : source['type'] === 'url' ? 'file_url' : null;
  const file = isRecord(part['file']) ? part['file'] : part;
  if (typeof file['file_id'] === 'string') return 'file_id';
  return typeof file['file_url'] === 'string' ? 'file_url' : null;
}

function strLen(v: unknown): number {
  return typeof v === 'string' ? v.length : 0;
}

function jsonLength(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string') return v.length;
  // Tool inputs are small objects; a rough size is enough and avoids serialising large ones.
  return isRecord(v) ? Object.keys(v).length * 16 : 16;
}

function readNumber(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

function reasoningLevel(body: Readonly<Record<string, unknown>>): number {
  const effort = isRecord(body['reasoning']) ? body['reasoning']['effort'] : body['reasoning_effort'];
  if (effort === 'high') return 2;
  if (effort === 'medium') return 1;
  const thinking = body['thinking'];
  if (isRecord(thinking) && thinking['type'] === 'enabled') {
    const budget = readNumber(thinking['budget_tokens']) ?? 0;
    return budget >= 8_000 ? 2 : 1;
  }
  return 0;
}

function storedContext(body: Readonly<Record<string, unknown>>, endpoint: Endpoint): RequestFeatures['storedContext'] {
  if (endpoint !== 'responses') return null;
  const previous = body['previous_response_id'];
  if (typeof previous === 'string' && previous !== '') return 'previous_response_id';
  const conversation = body['conversation'];
  if (conversation !== undefined && conversation !== null) return 'conversation';
  return isRecord(body['prompt']) ? 'prompt' : null;
}

/** Asks for a spoken answer: `modalities` with "audio", or the `audio` output parameter (voice, format). */
function speaks(body: Readonly<Record<string, unknown>>): boolean {
  const modalities = body['modalities'];
  return (Array.isArray(modalities) && modalities.includes('audio')) || isRecord(body['audio']);
}

function reasoningAsked(body: Readonly<Record<string, unknown>>): boolean {
  if (body['reasoning_effort'] !== undefined && body['reasoning_effort'] !== null) return true;
  const reasoning = body['reasoning'];
  if (isRecord(reasoning) && Object.values(reasoning).some((v) => v !== undefined && v !== null)) return true;
  const thinking = body['thinking'];
  return isRecord(thinking) && thinking['type'] !== 'disabled';
}

const CODE_FENCE = /```/g;
const CODE_LINE =
  /^\s*(?:(?:def|class|function|const|let|var|import|from|return|if|for|while|public|private|fn|func|package|#include|SELECT|INSERT|UPDATE)\b|[}\]);]\s*$|.*[{;]\s*$|.*=>)/gm;
const MATH =
  /\d\s*[+\-*/^×÷=<>]\s*\(?\d|\\(?:frac|sqrt|sum|int|cdot|times|pi|alpha|theta)|\$[^$\n]{1,80}\$|\b(?:equation|integral|derivative|probability|percent|ratio|average|remainder|sqrt|log|matrix|polynomial|prime|modulo)\b|%/gi;
const NUMBER = /\d+(?:[.,]\d+)*/g;
const MULTI_STEP =
  /\b(?:step[- ]by[- ]step|prove|proof|derive|explain (?:why|how)|why does|compare|contrast|analy[sz]e|evaluate|design|architect|implement|refactor|debug|optimi[sz]e|trade-?offs?|pros and cons|plan|strategy|justify|in detail|first,? .{0,60}then|multiple steps|reason(?:ing)? about)\b/gi;
const SIMPLE_TASK =
  /\b(?:summari[sz]e|tl;?dr|translate|rephrase|reword|paraphrase|fix (?:the )?(?:typo|grammar|spelling)|spell[- ]check|proofread|classify|categori[sz]e|extract|list|format|convert|capitali[sz]e|sentiment|title for|one word|yes or no|true or false|define|what is the capital)\b/gi;
const CHOICE = /^\s*\(?[A-Ea-e][.)]\s+\S/gm;
const NEGATION = /\b(?:NOT|EXCEPT|LEAST|FALSE)\b/g;
const SENTENCE_END = /[.!?](?:\s|$)/g;
const WORD = /[A-Za-z]{2,}/g;

function count(re: RegExp, text: string): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) n++;
  return n;
}

/** Distinct lower-cased words of 2+ letters, and how many of all the words are long (9+ letters). */
function scanWords(text: string): { words: string[]; total: number; long: number } {
  const seen = new Set<string>();
  let total = 0;
  let long = 0;
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m !== null; m = WORD.exec(text)) {
    const w = m[0];
    total++;
    if (w.length >= 9) long++;
    seen.add(w.toLowerCase());
  }
  return { words: [...seen], total, long };
}

/**
 * Reads a request body of any metered endpoint: chat completions `messages`, Responses `instructions` + `input`,
 * Anthropic `system` + `messages`. Never throws: a malformed body gives empty features.
 */
export function extractFeatures(body: Readonly<Record<string, unknown>>, endpoint: Endpoint): Extracted {
  const w: Walk = { context: 0, images: 0, files: 0, fileReference: null, audio: 0, toolTurns: 0 };
  let turns = 0;
  const parts: string[] = [];
  let newChars = 0;
  let toolStep = false;

  w.context += measure(body['system'], w, 0) + strLen(body['instructions']);
  const list = endpoint === 'responses' ? body['input'] : body['messages'];
  if (typeof list === 'string') {
    turns = 1;
    newChars = list.length;
    parts.push(list);
  } else if (Array.isArray(list)) {
    turns = list.length;
    let last = -1;
    for (let i = list.length - 1; i >= 0; i--) {
      const m: unknown = list[i];
      if (isRecord(m) && m['role'] === 'user') {
        last = i;
        break;
      }
    }
    for (let i = 0; i < list.length; i++) {
      const m: unknown = list[i];
      if (!isRecord(m)) continue;
      const role = m['role'];
      const newest = i === list.length - 1;
      if (role === 'tool' || role === 'function' || (m['type'] !== undefined && m['type'] !== 'message')) {
        // chat `tool` results; Responses function_call / function_call_output / reasoning items
        w.toolTurns++;
        w.context += measure(m['content'], w, 1) + strLen(m['output']) + strLen(m['arguments']);
        if (newest) toolStep = role === 'tool' || role === 'function' || (typeof m['type'] === 'string' && m['type'].endsWith('_output'));
        continue;
      }
      if (Array.isArray(m['tool_calls'])) w.toolTurns += (m['tool_calls'] as unknown[]).length;
      if (isRecord(m['audio'])) w.audio++;
      const before = w.toolTurns;
      if (i === last) newChars = measure(m['content'], w, 0, parts);
      else w.context += measure(m['content'], w, 0);
      // Anthropic: tool results come back inside a user message.
      if (newest && role === 'user' && w.toolTurns > before) toolStep = true;
    }
  }

  let newText = parts.length === 1 ? parts[0]! : parts.join('\n');
  if (newText.length > NEW_TEXT_LIMIT) newText = newText.slice(newText.length - NEW_TEXT_LIMIT);

  const ws = scanWords(newText);
  const fences = count(CODE_FENCE, newText);

  const tools = Array.isArray(body['tools']) ? (body['tools'] as unknown[]).length : Array.isArray(body['functions']) ? (body['functions'] as unknown[]).length : 0;
  const choice = body['tool_choice'];
  const toolChoiceForced =
    choice === 'required' || choice === 'any' || (isRecord(choice) && choice['type'] !== 'auto' && choice['type'] !== 'none');
  // Chat `response_format`, Responses `text.format`, Anthropic `output_config.format` (the beta's `output_format`).
  const format = isRecord(body['response_format'])
    ? body['response_format']['type']
    : isRecord(body['text']) && isRecord(body['text']['format'])
      ? body['text']['format']['type']
      : isRecord(body['output_config']) && isRecord(body['output_config']['format'])
        ? body['output_config']['format']['type']
        : isRecord(body['output_format'])
          ? body['output_format']['type']
          : undefined;

  return {
    newText,
    words: ws.words,
    features: {
      newChars,
      contextChars: w.context,
      turns,
      codeLines: Math.floor(fences / 2) * 4 + count(CODE_LINE, newText),
      mathSignals: count(MATH, newText),
      numbers: count(NUMBER, newText),
      multiStep: count(MULTI_STEP, newText),
      simpleTask: count(SIMPLE_TASK, newText),
      choices: count(CHOICE, newText),
      negations: count(NEGATION, newText),
      sentences: count(SENTENCE_END, newText),
      longWordShare: ws.total > 0 ? ws.long / ws.total : 0,
      maxOutputTokens:
        readNumber(body['max_tokens']) ?? readNumber(body['max_completion_tokens']) ?? readNumber(body['max_output_tokens']),
      tools,
      toolChoiceForced: tools > 0 && toolChoiceForced,
      toolTurns: w.toolTurns,
      toolStep,
      jsonSchema: format === 'json_schema',
      jsonMode: format === 'json_object',
      images: w.images,
      files: w.files,
      audio: w.audio > 0 || speaks(body),
      reasoning: reasoningLevel(body),
      reasoningAsked: reasoningAsked(body),
      effortAsked: isRecord(body['output_config']) && body['output_config']['effort'] !== undefined && body['output_config']['effort'] !== null,
      storedContext: storedContext(body, endpoint) ?? w.fileReference,
    },
  };
}

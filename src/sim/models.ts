/**
 * The models the simulator serves. Real, current names so that the price catalogue (@pydantic/genai-prices)
 * prices them and the demo can build its config from this list; with the dated snapshots and the Codex models,
 * because Claude Code and Codex ask for those by name.
 */
export type SimProviderId = 'openai' | 'anthropic';

export interface SimModel {
  readonly id: string;
  readonly provider: SimProviderId;
  readonly kind: 'chat' | 'embedding';
  /** OpenAI: reports hidden reasoning tokens (o-series, gpt-5). Anthropic: accepts `thinking`. */
  readonly reasoning: boolean;
  /** Embedding width of the real model; `dimensions` may ask for fewer. */
  readonly dimensions?: number;
  readonly displayName: string;
  /** Release date, for `created` / `created_at` in model listings. */
  readonly released: string;
  /**
   * The dated snapshot the alias stands for (`claude-sonnet-4-5-20250929`, `gpt-5-2025-08-07`): served and listed
   * too, answering with that name as `model`, as the providers do. One the catalogue prices as the alias.
   */
  readonly snapshot?: string;
  /** OpenAI: answers `modalities: ["text", "audio"]` with spoken audio (gpt-audio), counting audio tokens. */
  readonly audio?: boolean;
  /** Anthropic: serves `speed: "fast"` (fast mode). */
  readonly fastMode?: boolean;
}

export const SIM_MODELS = [
  { id: 'gpt-4o', provider: 'openai', kind: 'chat', reasoning: false, displayName: 'GPT-4o', released: '2024-05-13', snapshot: 'gpt-4o-2024-08-06' },
  { id: 'gpt-4o-mini', provider: 'openai', kind: 'chat', reasoning: false, displayName: 'GPT-4o mini', released: '2024-07-18', snapshot: 'gpt-4o-mini-2024-07-18' },
  { id: 'gpt-4.1', provider: 'openai', kind: 'chat', reasoning: false, displayName: 'GPT-4.1', released: '2025-04-14', snapshot: 'gpt-4.1-2025-04-14' },
  { id: 'gpt-4.1-mini', provider: 'openai', kind: 'chat', reasoning: false, displayName: 'GPT-4.1 mini', released: '2025-04-14', snapshot: 'gpt-4.1-mini-2025-04-14' },
  { id: 'gpt-4.1-nano', provider: 'openai', kind: 'chat', reasoning: false, displayName: 'GPT-4.1 nano', released: '2025-04-14', snapshot: 'gpt-4.1-nano-2025-04-14' },
  { id: 'gpt-5', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'GPT-5', released: '2025-08-07', snapshot: 'gpt-5-2025-08-07' },
  { id: 'gpt-5-mini', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'GPT-5 mini', released: '2025-08-07', snapshot: 'gpt-5-mini-2025-08-07' },
  { id: 'gpt-5-nano', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'GPT-5 nano', released: '2025-08-07', snapshot: 'gpt-5-nano-2025-08-07' },
  { id: 'gpt-5-codex', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'GPT-5-Codex', released: '2025-09-15' },
  { id: 'gpt-5.1', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'GPT-5.1', released: '2025-11-13', snapshot: 'gpt-5.1-2025-11-13' },
  { id: 'gpt-5.1-codex', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'GPT-5.1-Codex', released: '2025-11-13' },
  { id: 'gpt-5.1-codex-mini', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'GPT-5.1-Codex-Mini', released: '2025-11-13' },
  { id: 'gpt-5.1-codex-max', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'GPT-5.1-Codex-Max', released: '2025-11-19' },
  { id: 'gpt-5.2', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'GPT-5.2', released: '2025-12-11', snapshot: 'gpt-5.2-2025-12-11' },
  { id: 'gpt-5.2-codex', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'GPT-5.2-Codex', released: '2025-12-18' },
  { id: 'o3', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'o3', released: '2025-04-16', snapshot: 'o3-2025-04-16' },
  { id: 'o4-mini', provider: 'openai', kind: 'chat', reasoning: true, displayName: 'o4-mini', released: '2025-04-16', snapshot: 'o4-mini-2025-04-16' },
  { id: 'gpt-audio', provider: 'openai', kind: 'chat', reasoning: false, audio: true, displayName: 'gpt-audio', released: '2025-08-28', snapshot: 'gpt-audio-2025-08-28' },
  {
    id: 'text-embedding-3-small',
    provider: 'openai',
    kind: 'embedding',
    reasoning: false,
    dimensions: 1536,
    displayName: 'text-embedding-3-small',
    released: '2024-01-25',
  },
  {
    id: 'text-embedding-3-large',
    provider: 'openai',
    kind: 'embedding',
    reasoning: false,
    dimensions: 3072,
    displayName: 'text-embedding-3-large',
    released: '2024-01-25',
  },
  { id: 'claude-opus-4-6', provider: 'anthropic', kind: 'chat', reasoning: true, fastMode: true, displayName: 'Claude Opus 4.6', released: '2026-02-05' },
  { id: 'claude-opus-4-1', provider: 'anthropic', kind: 'chat', reasoning: true, displayName: 'Claude Opus 4.1', released: '2025-08-05', snapshot: 'claude-opus-4-1-20250805' },
  { id: 'claude-sonnet-4-5', provider: 'anthropic', kind: 'chat', reasoning: true, displayName: 'Claude Sonnet 4.5', released: '2025-09-29', snapshot: 'claude-sonnet-4-5-20250929' },
  { id: 'claude-haiku-4-5', provider: 'anthropic', kind: 'chat', reasoning: true, displayName: 'Claude Haiku 4.5', released: '2025-10-15', snapshot: 'claude-haiku-4-5-20251001' },
  {
    id: 'claude-3-5-haiku-20241022',
    provider: 'anthropic',
    kind: 'chat',
    reasoning: false,
    displayName: 'Claude Haiku 3.5',
    released: '2024-10-22',
  },
  {
    id: 'claude-sonnet-4-20250514',
    provider: 'anthropic',
    kind: 'chat',
    reasoning: true,
    displayName: 'Claude Sonnet 4',
    released: '2025-05-14',
  },
] as const satisfies readonly SimModel[];

export type SimModelId = (typeof SIM_MODELS)[number]['id'];

/** Every name served: each model under its alias, then under its dated snapshot (as itself, renamed). */
export const SIM_MODEL_NAMES: readonly SimModel[] = SIM_MODELS.flatMap((m: SimModel) => (m.snapshot === undefined ? [m] : [m, { ...m, id: m.snapshot }]));

const BY_ID: ReadonlyMap<string, SimModel> = new Map(SIM_MODEL_NAMES.map((m) => [m.id, m]));

/** The model a request names, alias or snapshot; its `id` is the name asked for, which the answer carries. */
export function findModel(id: string): SimModel | undefined {
  return BY_ID.get(id);
}

/** Unix seconds of a model's release date, as OpenAI's `created`. */
export function releasedUnix(model: SimModel): number {
  return Math.floor(Date.parse(`${model.released}T00:00:00Z`) / 1000);
}

/**
 * Where a model sits on the configured ladders. Lookups are one Map get; a `provider/model` name (the router's
 * explicit-provider form) is found by its model part and keeps its prefix when stepped down; a dated snapshot of a
 * ladder's model sits where the model does (routed down to the ladder's names as written).
 */
export interface Rung {
  family: string;
  /** 0 = most capable. */
  index: number;
  ladder: readonly string[];
  /** "openai/" when the client named the provider explicitly, else "". */
  prefix: string;
}

/** A snapshot's date suffix, as OpenAI (-2025-08-07) and Anthropic (-20250805) write it. */
const DATED = /-(?:\d{4}-\d{2}-\d{2}|\d{8})$/;
const PROVIDER_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}\/$/;

export class Ladders {
  private readonly byModel = new Map<string, { family: string; index: number; ladder: readonly string[] }>();

  constructor(ladders: Readonly<Record<string, readonly string[]>>) {
    for (const [family, ladder] of Object.entries(ladders)) {
      ladder.forEach((model, index) => this.byModel.set(model, { family, index, ladder }));
    }
  }

  find(model: string): Rung | undefined {
    const hit = this.named(model);
    if (hit) return { ...hit, prefix: '' };
    const slash = model.indexOf('/');
    if (slash <= 0) return undefined;
    const prefix = model.slice(0, slash + 1);
    // Only a provider id (see config `id`) may come before the slash; the prefix goes back into a header.
    if (!PROVIDER_PREFIX.test(prefix)) return undefined;
    const inner = this.named(model.slice(slash + 1));
    return inner ? { ...inner, prefix } : undefined;
  }

  /** A ladder's model by name, or a dated snapshot of one (`gpt-5-2025-08-07`, `claude-opus-4-1-20250805`). */
  private named(model: string) {
    return this.byModel.get(model) ?? this.byModel.get(model.replace(DATED, ''));
  }
}

/**
 * Where a model sits on the configured ladders. Lookups are one Map get; a `provider/model` name (the router's
 * explicit-provider form) is found by its model part and keeps its prefix when stepped down.
 */
export interface Rung {
  family: string;
  /** 0 = most capable. */
  index: number;
  ladder: readonly string[];
  /** "openai/" when the client named the provider explicitly, else "". */
  prefix: string;
}

const PROVIDER_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}\/$/;

export class Ladders {
  private readonly byModel = new Map<string, { family: string; index: number; ladder: readonly string[] }>();

  constructor(ladders: Readonly<Record<string, readonly string[]>>) {
    for (const [family, ladder] of Object.entries(ladders)) {
      ladder.forEach((model, index) => this.byModel.set(model, { family, index, ladder }));
    }
  }

  find(model: string): Rung | undefined {
    const hit = this.byModel.get(model);
    if (hit) return { ...hit, prefix: '' };
    const slash = model.indexOf('/');
    if (slash <= 0) return undefined;
    const prefix = model.slice(0, slash + 1);
    // Only a provider id (see config `id`) may come before the slash; the prefix goes back into a header.
    if (!PROVIDER_PREFIX.test(prefix)) return undefined;
    const inner = this.byModel.get(model.slice(slash + 1));
    return inner ? { ...inner, prefix } : undefined;
  }
}

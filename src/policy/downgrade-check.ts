import { TierIndex } from './access.js';
import type { BudgetConfig } from './config.js';
import type { GovernanceSpec } from './rules.js';

/**
 * Whether each downgrade budget's `downgradeTo` can serve the requests it downgrades: a model some provider serves
 * and, for a USD budget, one with a price (the engine refuses to downgrade to a model a USD budget cannot account
 * for). Checked when the config is loaded and on every admin change, so the mistake is found then, not at the
 * downgrade point by the person whose request is refused. Pure: the gateway's router and pricer answer `lookup`.
 */

export interface ModelLookup {
  /** The providers that serve `model` (on any API), each with whether it has a price there. */
  (model: string): { provider: string; priced: boolean }[];
}

/** One problem per downgrade target that cannot serve, keyed `budgetId downgradeTo[.provider]`. */
export function downgradeProblems(spec: Pick<GovernanceSpec, 'budgets' | 'tiers'>, lookup: ModelLookup): Map<string, string> {
  const tiers = new TierIndex(spec.tiers);
  const out = new Map<string, string>();
  for (const b of spec.budgets) {
    if (b.action !== 'downgrade' || b.downgradeTo === undefined) continue;
    const targets = typeof b.downgradeTo === 'string' ? [['', b.downgradeTo] as const] : Object.entries(b.downgradeTo);
    for (const [provider, target] of targets) {
      const where = `budget "${b.id}": downgradeTo${provider === '' ? '' : `.${provider}`}`;
      const problem = targetProblem(b, target, spec.tiers[target] !== undefined ? tiers.concreteModel(target) : target, lookup);
      if (problem !== null) out.set(where, `${where}: ${problem}`);
    }
  }
  return out;
}

function targetProblem(b: BudgetConfig, target: string, model: string | null, lookup: ModelLookup): string | null {
  if (model === null) return `tier "${target}" lists no model by its exact name (only patterns like "name-*"), so there is no model to downgrade to. List one, or name a model.`;
  const named = model === target ? `"${model}"` : `"${model}" (the first model of tier "${target}")`;
  const served = lookup(model);
  if (served.length === 0) {
    return `no configured provider serves ${named}. Fix the name, or add the model to a provider's \`models\` or under \`models:\`.`;
  }
  if (b.unit === 'usd' && !served.some((s) => s.priced)) {
    return `${named} has no price, so this USD budget cannot account for the requests downgraded to it. Give it one under \`models:\` (price: { input, output } in USD per million tokens), or name a priced model.`;
  }
  return null;
}

import type { Finding, RuleId } from '../detect/types.js';
import { formatUsd } from './money.js';

/**
 * Two or three suggestions for one person (the weekly digest, a month on the dashboard), drawn from their own
 * findings (the costliest kinds of waste first, in the detector's own words), else general ones that say plainly
 * that nothing was found. Pure.
 */
export interface Suggestion {
  /** The rule it comes from, or null for a general suggestion. */
  rule: RuleId | null;
  text: string;
  /** Estimated avoidable spend behind it (0 for general ones). */
  wastedUsd: number;
  findings: number;
}

export interface UsageShape {
  costUsd: number;
  requests: number;
  /** Cache reads as a share of input tokens (0…1), when there was input. */
  cacheShare: number | null;
}

const usd = (n: number): string => formatUsd(n);

export interface SuggestionOptions {
  /** The window the findings and usage cover, as the text says it: `this week` (the digest), `in September 2026`. */
  when?: string;
  max?: number;
  /** Whose usage, when someone else reads it (a lead on a person's page): the texts say `bob`, not `you`. */
  who?: string;
}

export function digestSuggestions(findings: readonly Finding[], usage: UsageShape, opts: SuggestionOptions = {}): Suggestion[] {
  const { when = 'this week', max = 3, who } = opts;
  const them = who ?? 'you';
  const their = who === undefined ? 'your' : `${who}’s`;
  const byRule = new Map<RuleId, Finding[]>();
  for (const f of findings) byRule.set(f.rule, [...(byRule.get(f.rule) ?? []), f]);
  const specific: Suggestion[] = [...byRule.entries()]
    .map(([rule, fs]) => {
      const wasted = fs.reduce((a, f) => a + f.wastedUsd, 0);
      const worst = [...fs].sort((a, b) => b.wastedUsd - a.wastedUsd || b.confidence - a.confidence)[0]!;
      const times = fs.length === 1 ? 'once' : `${fs.length} times`;
      const cost = wasted > 0 ? `, about ${usd(wasted)} avoidable` : '';
      return { rule, text: `${worst.suggestion} (${rule}: ${times} ${when}${cost}; e.g. ${worst.summary})`, wastedUsd: wasted, findings: fs.length };
    })
    .sort((a, b) => b.wastedUsd - a.wastedUsd || b.findings - a.findings || a.rule.localeCompare(b.rule));
  const out = specific.slice(0, max);
  if (out.length >= 2) return out;

  const general: Suggestion[] = [];
  const none = (text: string): Suggestion => ({ rule: null, text, wastedUsd: 0, findings: 0 });
  // Nothing to judge: saying no waste was found "in your usage" would describe usage that does not exist.
  if (usage.requests === 0 && specific.length === 0) return [none(`No usage was recorded for ${them} ${when}, so there is nothing to suggest yet.`)];
  if (specific.length === 0) {
    general.push(none(`No waste patterns were detected in ${their} usage ${when}: nothing to change on that front.`));
  }
  // No "try a smaller model" from model share alone: most spend on one model says nothing about whether the requests
  // were simple (a heavy user who ships, or someone on the smallest model there is, got it too, right after "nothing
  // to change"). The evidence for it is the premium-overkill detector's (simple prompts by the routing classifier's
  // score, on a premium model with a cheaper one named, as a habit): its finding's suggestion above says it, with
  // the dollars.
  if (usage.cacheShare !== null && usage.cacheShare < 0.2 && usage.requests >= 20) {
    general.push(
      none(`Only ${Math.round(usage.cacheShare * 100)}% of ${their} input was read from the prompt cache. Long-running sessions with a stable start (system prompt, files) are cheaper than many fresh ones.`),
    );
  }
  return [...out, ...general].slice(0, max);
}

import type { Finding, RuleId } from '../detect/types.js';
import type { Label } from './world.js';

/**
 * Scores findings against the simulator's labels.
 *
 * Waste rules: a finding is a true positive when a label of the same rule, for the same person, overlaps it in time
 * (with `slackMs` on either side); recall is the share of labels matched by at least one finding.
 * Spend anomalies: an anomaly is unusual spend, and every injected behaviour makes some; a user-level anomaly counts
 * as true when any label of that person overlaps it, a team-level one when any label of a member does; recall is
 * measured on the injected spend spikes only. Project and model anomalies are counted, not scored.
 */
export interface RuleScore {
  rule: RuleId;
  findings: number;
  truePositives: number;
  labels: number;
  found: number;
  precision: number;
  recall: number;
}

export interface Evaluation {
  rules: RuleScore[];
  honestHeavy: number;
  honestHeavyFlagged: string[];
  /** Honest heavy users with a spend anomaly (reported apart: unusual spend is a question, not a waste finding). */
  honestHeavyAnomalies: string[];
  unscoredAnomalies: number;
}

const WASTE_RULES: readonly RuleId[] = ['rephrase-loop', 'context-bloat', 'premium-overkill', 'idle-loop', 'agent-circle', 'fan-out', 'period-end-surge'];

export function evaluate(
  findings: readonly Finding[],
  labels: readonly Label[],
  opts: { honestHeavy: readonly string[]; teamOf: (userId: string) => string | undefined; slackMs?: number },
): Evaluation {
  const slack = opts.slackMs ?? 30 * 60_000;
  const overlaps = (f: Finding, l: Label, s = slack): boolean => f.start <= l.end + s && f.end >= l.start - s;
  const byUser = new Map<string, Label[]>();
  for (const l of labels) {
    const list = byUser.get(l.userId) ?? [];
    list.push(l);
    byUser.set(l.userId, list);
  }
  const rules: RuleScore[] = [];
  for (const rule of WASTE_RULES) {
    const fs = findings.filter((f) => f.rule === rule);
    const ls = labels.filter((l) => l.rule === rule);
    const matched = new Set<Label>();
    let tp = 0;
    for (const f of fs) {
      const hits = (byUser.get(f.userId ?? '') ?? []).filter((l) => l.rule === rule && overlaps(f, l));
      if (hits.length > 0) tp++;
      for (const l of hits) matched.add(l);
    }
    rules.push(score(rule, fs.length, tp, ls.length, matched.size));
  }
  // Spend anomalies.
  const day = 24 * 3_600_000;
  const anomalies = findings.filter((f) => f.rule === 'spend-anomaly');
  const spikes = labels.filter((l) => l.rule === 'spend-anomaly');
  const members = new Map<string, Label[]>();
  for (const l of labels) {
    const team = opts.teamOf(l.userId);
    if (team === undefined) continue;
    const list = members.get(team) ?? [];
    list.push(l);
    members.set(team, list);
  }
  let scored = 0;
  let tp = 0;
  let unscored = 0;
  const found = new Set<Label>();
  for (const f of anomalies) {
    let candidates: Label[];
    if (f.subject.kind === 'user') candidates = byUser.get(f.subject.id) ?? [];
    else if (f.subject.kind === 'team') candidates = members.get(f.subject.id) ?? [];
    else {
      unscored++;
      continue;
    }
    scored++;
    const hits = candidates.filter((l) => overlaps(f, l, day / 2));
    if (hits.length > 0) tp++;
    if (f.subject.kind === 'user') for (const l of hits) if (l.rule === 'spend-anomaly') found.add(l);
  }
  rules.push(score('spend-anomaly', scored, tp, spikes.length, found.size));

  const heavy = new Set(opts.honestHeavy);
  const flagged = new Set<string>();
  const anomalous = new Set<string>();
  for (const f of findings) {
    if (f.userId === null || !heavy.has(f.userId)) continue;
    if (f.rule === 'spend-anomaly') {
      if (f.subject.kind === 'user') anomalous.add(f.userId);
    } else flagged.add(f.userId);
  }
  return {
    rules,
    honestHeavy: heavy.size,
    honestHeavyFlagged: [...flagged].sort(),
    honestHeavyAnomalies: [...anomalous].sort(),
    unscoredAnomalies: unscored,
  };
}

function score(rule: RuleId, findings: number, tp: number, labels: number, found: number): RuleScore {
  return {
    rule,
    findings,
    truePositives: tp,
    labels,
    found,
    precision: findings === 0 ? (labels === 0 ? 1 : 0) : tp / findings,
    recall: labels === 0 ? 1 : found / labels,
  };
}

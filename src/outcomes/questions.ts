import { createHash } from 'node:crypto';
import type { Finding } from '../detect/types.js';
import { formatUsd } from '../report/money.js';
import { weekStart } from './counted.js';
import type { Link } from './link.js';
import type { SpendSlice } from './slices.js';

/**
 * "Spend without outcome": a person's week with large spend and nothing linked to any commit, pull request, ticket
 * or deployment. A question for the person, never a verdict: research, learning, reviews and prototypes are
 * legitimate and ship nothing. So the finding claims no waste (wastedUsd 0), and it is shown to the person, while
 * leads only see how many questions their team has (see view.ts).
 *
 * Same shape as the waste detectors' findings (src/detect/types.ts), so the dashboard renders both alike; it is
 * computed with the outcome links rather than from usage alone, which is why it is not a detector there.
 */
export const QUESTION_RULE = 'spend-without-outcome';
export type OutcomeQuestion = Omit<Finding, 'rule'> & { rule: typeof QUESTION_RULE };

const WEEK_MS = 7 * 86_400_000;

export interface QuestionOptions {
  /** Weekly spend from which an unlinked week is asked about. */
  minUsdPerWeek: number;
  since: number;
  until: number;
  now: number;
}

export function spendWithoutOutcome(slices: readonly SpendSlice[], links: readonly Link[], opts: QuestionOptions): OutcomeQuestion[] {
  const linked = new Set(links.map((l) => l.slice));
  const weeks = new Map<string, { userId: string; teamId: string | null; week: number; spend: number; requests: number; tokens: number; linked: boolean; projects: Set<string> }>();
  slices.forEach((s, i) => {
    if (s.userId === null || s.start < opts.since || s.start >= opts.until) return;
    const week = weekStart(s.start);
    const key = `${s.userId}\u0000${week}`;
    let w = weeks.get(key);
    if (w === undefined) {
      w = { userId: s.userId, teamId: s.teamId, week, spend: 0, requests: 0, tokens: 0, linked: false, projects: new Set() };
      weeks.set(key, w);
    }
    w.spend += s.costUsd;
    w.requests += s.requests;
    w.tokens += s.tokens;
    if (linked.has(i)) w.linked = true;
    const project = s.projectId ?? s.repo;
    if (project !== null) w.projects.add(project);
  });
  const out: OutcomeQuestion[] = [];
  for (const w of weeks.values()) {
    if (w.linked || w.spend < opts.minUsdPerWeek) continue;
    const day = new Date(w.week).toISOString().slice(0, 10);
    const where = w.projects.size > 0 ? ` (on ${[...w.projects].slice(0, 3).join(', ')}${w.projects.size > 3 ? '…' : ''})` : '';
    out.push({
      id: createHash('sha256').update(`${QUESTION_RULE}\u0000user\u0000${w.userId}\u0000${w.week}`).digest('hex').slice(0, 24),
      rule: QUESTION_RULE,
      subject: { kind: 'user', id: w.userId },
      userId: w.userId,
      teamId: w.teamId,
      sessionId: null,
      start: w.week,
      end: Math.min(w.week + WEEK_MS, opts.until),
      evidence: { counts: { requests: w.requests, tokens: w.tokens, projects: w.projects.size }, ratios: { spendUsd: Math.round(w.spend * 100) / 100, linkedShare: 0 }, requestIds: [] },
      wastedUsd: 0,
      wasteMethod: 'None claimed: spend with no linked outcome is a question, not waste.',
      // How sure we are that nothing was linked, not that anything is wrong: the links can miss work.
      confidence: 0.5,
      summary: `${formatUsd(w.spend)} of AI spend in the week of ${day}${where}, ${w.requests} requests, is not linked to any commit, pull request, ticket or deployment.`,
      suggestion:
        'What was it for? Research, learning and experiments are good reasons and need no outcome. If it led to work, say so: tag requests with `x-goodhart-tags: task:PROJ-123`, or work on a branch named after the ticket, and the link is made.',
      detectedAt: opts.now,
    });
  }
  return out.sort((a, b) => a.start - b.start || (a.userId! < b.userId! ? -1 : 1));
}

import { GoodhartError } from '../errors.js';
import type { EventFilter, OutcomeStore, Store } from '../store/types.js';
import type { EventSource } from '../usage/event.js';
import { analyseOutcomes, lookaheadMs, type AnalysisConfig } from './analyse.js';
import type { ShippedKind } from './counted.js';
import type { LinkMethod } from './link.js';
import { efficiency, type EfficiencyRow } from './metrics.js';
import type { OutcomeQuestion } from './questions.js';
import { loadSpendSlices, type SpendSlice } from './slices.js';

/**
 * The efficiency view that replaces a leaderboard. Who sees what:
 * - a person sees their own numbers, their own outcomes with the spend linked to each, and their own questions;
 * - a lead sees their team in aggregate, and how many questions it has (not whose);
 * - an admin (or finance: the `audit` permission) sees every team in aggregate and the organisation.
 * Nobody is shown a ranking of people. The dashboard's Outcomes card is the person view of a person's page and the
 * lead view of a team's page (its API has checked the caller may see that page), so it shows what the CLI shows.
 */
export type OutcomeViewer =
  /** `teamId`: only what is booked to that team (a lead opening a person who was on their team: not their time elsewhere). */
  | { role: 'person'; userId: string; teamId?: string }
  /** `people`: also each person's row (the dashboard's People table; a lead may open each person's page anyway). */
  | { role: 'lead'; teamId: string; people?: boolean }
  | { role: 'admin' };

/** From the admin API's actor (src/policy/service.ts): manage/audit → admin, approve + team → lead, else person. */
export function viewerFromActor(actor: { userId: string | null; teamId: string | null; permissions: ReadonlySet<string> }): OutcomeViewer {
  if (actor.permissions.has('manage') || actor.permissions.has('audit')) return { role: 'admin' };
  if (actor.permissions.has('approve') && actor.teamId !== null) return { role: 'lead', teamId: actor.teamId };
  if (actor.userId !== null) return { role: 'person', userId: actor.userId };
  throw new GoodhartError('forbidden', 403, 'This key belongs to no person or team, so it has no outcomes to see. Use a personal key, or an admin key with the audit permission.');
}

export interface MyOutcome {
  id: string;
  kind: ShippedKind;
  at: number;
  /** How many it counts as (a squash commit: its pull request's commits). */
  count: number;
  repo: string | null;
  prNumber: number | null;
  branch: string | null;
  tickets: string[];
  aiCoAuthored: boolean | null;
  /** Spend linked to it, and by which rules. */
  linkedUsd: number;
  methods: LinkMethod[];
}

export interface OutcomeView {
  viewer: OutcomeViewer;
  since: number;
  until: number;
  /** person: one row (theirs); lead: one row (the team); admin: every team, then the organisation. */
  rows: EfficiencyRow[];
  /** Only the person's own questions; leads and admins get `openQuestions` counts instead. */
  questions: OutcomeQuestion[];
  /** Open questions per team (lead: their team only). */
  openQuestions: Record<string, number>;
  /** person only. */
  myOutcomes: MyOutcome[];
  /** Changes reverted within the window, of the viewer's scope only (theirs, their team's, the organisation's). */
  reverted: number;
  /**
   * A lead asking for `people`: the row of each person with spend in the team, by id (never ranked), so a page can
   * show what each person's spend produced beside it. Spend and outcomes are theirs in the team (booked to it).
   */
  people?: EfficiencyRow[];
}

/**
 * What the view reads: the outcomes, and the spend as slices (slices.ts), summed from the events here or by a
 * reader that sums them where it reads them (the dashboard's reader thread, so only slices cross threads).
 */
export type OutcomeViewSource = Pick<OutcomeStore, 'listOutcomes'> &
  (Pick<Store, 'listEvents'> | { spendSlices(filter: EventFilter & { since: number; until: number }): Promise<SpendSlice[]> });

export async function outcomesView(
  store: OutcomeViewSource,
  config: AnalysisConfig,
  viewer: OutcomeViewer,
  range: { since: number; until: number },
  now = Date.now(),
  /** Spend of one source only (`--source`); else each person's week from its most detailed record (slices.ts). */
  spend: { source?: EventSource } = {},
): Promise<OutcomeView> {
  if (!(range.until > range.since)) throw new GoodhartError('invalid_request', 400, 'The period is empty: `until` must be after `since`.');
  const filter = {
    since: range.since,
    until: range.until,
    ...(viewer.role === 'person' ? { userId: viewer.userId, ...(viewer.teamId !== undefined ? { teamId: viewer.teamId } : {}) } : viewer.role === 'lead' ? { teamId: viewer.teamId } : {}),
    ...(spend.source === undefined ? {} : { source: spend.source }),
  };
  const [slices, outcomes] = await Promise.all([
    'spendSlices' in store ? store.spendSlices(filter) : loadSpendSlices(store, filter),
    store.listOutcomes({ since: range.since, until: range.until + lookaheadMs(config) }),
  ]);
  const a = analyseOutcomes({ slices, outcomes, since: range.since, until: range.until, config, now });
  const openQuestions: Record<string, number> = {};
  for (const q of a.questions) openQuestions[q.teamId ?? '(none)'] = (openQuestions[q.teamId ?? '(none)'] ?? 0) + 1;
  const onTeam = (o: { teamId: string | null }) => viewer.role !== 'person' || viewer.teamId === undefined || o.teamId === viewer.teamId;
  const reverted = a.reverted.filter((o) => (viewer.role === 'person' ? o.userId === viewer.userId && onTeam(o) : viewer.role === 'lead' ? o.teamId === viewer.teamId : true)).length;
  const base = { viewer, since: range.since, until: range.until, reverted };
  if (viewer.role === 'person') {
    const mine = a.counted.filter((o) => o.userId === viewer.userId && onTeam(o));
    const mineIds = new Set(mine.map((o) => o.id));
    const linked = new Map<string, { usd: number; methods: Set<LinkMethod> }>();
    for (const l of a.links) {
      const e = linked.get(l.outcomeId) ?? { usd: 0, methods: new Set<LinkMethod>() };
      e.usd += l.usd;
      e.methods.add(l.method);
      linked.set(l.outcomeId, e);
    }
    return {
      ...base,
      rows: (viewer.teamId === undefined
        ? a.rows('user')
        : efficiency({ slices, outcomes: mine, links: a.links.filter((l) => mineIds.has(l.outcomeId)), since: range.since, until: range.until }, 'user')
      ).filter((r) => r.subject.id === viewer.userId),
      questions: a.questions.filter((q) => q.userId === viewer.userId),
      openQuestions: {},
      myOutcomes: mine.map((o) => ({
        id: o.id, kind: o.kind, at: o.at, count: o.count, repo: o.repo, prNumber: o.prNumber ?? null, branch: o.branch ?? null, tickets: o.tickets,
        aiCoAuthored: o.aiCoAuthored ?? null, linkedUsd: linked.get(o.id)?.usd ?? 0, methods: [...(linked.get(o.id)?.methods ?? [])],
      })),
    };
  }
  if (viewer.role === 'lead') {
    const inTeam = new Set(slices.map((x) => x.userId));
    // Each person's outcomes booked to this team, as their page shows a lead (person view with teamId): not what
    // someone who moved shipped on another team.
    const people = () => {
      const teams = a.counted.filter((o) => o.teamId === viewer.teamId);
      const ids = new Set(teams.map((o) => o.id));
      return efficiency({ slices, outcomes: teams, links: a.links.filter((l) => ids.has(l.outcomeId)), since: range.since, until: range.until }, 'user');
    };
    return {
      ...base,
      rows: a.rows('team').filter((r) => r.subject.id === viewer.teamId),
      questions: [],
      openQuestions: { [viewer.teamId]: openQuestions[viewer.teamId] ?? 0 },
      myOutcomes: [],
      ...(viewer.people === true
        ? { people: people().filter((r) => inTeam.has(r.subject.id)).sort((x, y) => (x.subject.id < y.subject.id ? -1 : x.subject.id > y.subject.id ? 1 : 0)) }
        : {}),
    };
  }
  return { ...base, rows: [...a.rows('team'), ...a.rows('org')], questions: [], openQuestions, myOutcomes: [] };
}

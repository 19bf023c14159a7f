import type { GoodhartConfigInput } from '../config/schema.js';

/**
 * The demo organisation: three teams of four, so a member's team page passes the dashboard's small-group rules
 * (dashboard.minGroupSize 3: them and two others who spent), a lead per team, seniors who may use the premium tier,
 * and the README's tiers, so a member asking for a premium model meets a 403 and an access request.
 */
export type DemoRole = 'member' | 'senior' | 'lead';

export interface DemoPerson {
  id: string;
  team: string;
  role: DemoRole;
  /** What they spend on a working day, USD (the history's target; people differ, nobody dominates a team). */
  dailyUsd: number;
}

export const TEAMS = [
  { id: 'platform', name: 'Platform' },
  { id: 'payments', name: 'Payments' },
  { id: 'research', name: 'Research' },
] as const;

export const PEOPLE: readonly DemoPerson[] = [
  { id: 'grace', team: 'platform', role: 'lead', dailyUsd: 0.55 },
  { id: 'ada', team: 'platform', role: 'member', dailyUsd: 0.7 },
  { id: 'alan', team: 'platform', role: 'senior', dailyUsd: 0.85 },
  { id: 'edsger', team: 'platform', role: 'member', dailyUsd: 0.5 },
  { id: 'margaret', team: 'payments', role: 'lead', dailyUsd: 0.6 },
  { id: 'linus', team: 'payments', role: 'member', dailyUsd: 0.75 },
  { id: 'ken', team: 'payments', role: 'senior', dailyUsd: 0.65 },
  { id: 'dennis', team: 'payments', role: 'member', dailyUsd: 0.45 },
  { id: 'barbara', team: 'research', role: 'lead', dailyUsd: 0.8 },
  { id: 'john', team: 'research', role: 'senior', dailyUsd: 0.95 },
  { id: 'frances', team: 'research', role: 'member', dailyUsd: 0.6 },
  { id: 'donald', team: 'research', role: 'member', dailyUsd: 0.5 },
];

export const PROJECTS = [
  { id: 'infra', team: 'platform' },
  { id: 'checkout', team: 'payments' },
  { id: 'evals', team: 'research' },
] as const;

export function projectOf(p: DemoPerson): string {
  return PROJECTS.find((x) => x.team === p.team)!.id;
}

/** The README's tiers (Governance → Tiers): members get economy and standard, seniors and leads premium too. */
export const TIERS = {
  economy: ['gpt-4o-mini*', 'gpt-4.1-nano*', 'gpt-5-nano*', 'claude-haiku-*'],
  standard: ['gpt-4.1*', 'gpt-5-mini*', 'claude-sonnet-*'],
  premium: ['gpt-5*', 'o3*', 'o1*', 'claude-opus-*'],
};

export function mayUsePremium(p: DemoPerson): boolean {
  return p.role !== 'member';
}

/** The member the banner hands out a key for, whose rephrase loop the demo starts with, and who asks for premium access. */
export const MEMBER = 'ada';
/** The lead of MEMBER's team: decides her access request. */
export const LEAD = 'grace';
/** The team whose all-time pilot budget starts just under its soft cap. */
export const PILOT_TEAM = 'platform';
/** Where the pilot budget starts: this share of its amount already spent (its soft threshold is 80%). */
export const PILOT_START_SHARE = 0.79;

export interface DemoBudgets {
  /** Gateway spend of the history per team, all time (the pilot budget's window). */
  teamSpend: Record<string, number>;
  /** The history's average spend per day, whole organisation (sets the monthly budget). */
  dailyUsd: number;
}

/**
 * Two budgets: the organisation's month, with room to spare (on track), and the platform team's pilot budget (no
 * period: all time), set from the history so it starts at PILOT_START_SHARE of its amount, just under its 80%
 * threshold; the demo's own traffic takes it past 80% (warning headers, the budget's standing "near") in the
 * first minutes to hour, and to its cap (429) after some hours.
 */
export function demoBudgets(b: DemoBudgets): NonNullable<GoodhartConfigInput['budgets']> {
  const monthly = Math.max(50, Math.ceil((b.dailyUsd * 31 * 1.5) / 10) * 10);
  const pilot = Math.max(1, Math.round(((b.teamSpend[PILOT_TEAM] ?? 0) / PILOT_START_SHARE) * 100) / 100);
  return [
    { id: 'org-monthly', scope: 'org', amount: monthly, period: 'month', thresholds: [50, 80, 100], action: 'block', contact: '#ai-budget' },
    { id: `${PILOT_TEAM}-pilot`, scope: `team:${PILOT_TEAM}`, amount: pilot, period: 'none', thresholds: [80, 100], action: 'block', contact: LEAD },
  ];
}

/**
 * Waste detection with the demo's timings, so a newcomer sees a live finding within minutes: a check every 5 s
 * (default 30), events held 10 s for ordering (default 300: the demo's answers take a few seconds), and a rephrase
 * loop over after 1 quiet minute (default 10). The detectors' thresholds are the defaults.
 */
export const DEMO_DETECT = {
  live: { intervalSeconds: 5, reorderSeconds: 10 },
  rephraseLoop: { maxGapMinutes: 1 },
} as const satisfies GoodhartConfigInput['detect'];

export function demoOrgConfig(opts: { budgets: DemoBudgets; adminKey: string }): Pick<
  GoodhartConfigInput,
  'teams' | 'users' | 'projects' | 'tiers' | 'budgets' | 'admin' | 'detect'
> {
  return {
    teams: [...TEAMS],
    users: PEOPLE.map((p) => ({ id: p.id, team: p.team, role: p.role })),
    projects: [...PROJECTS],
    tiers: TIERS,
    budgets: demoBudgets(opts.budgets),
    admin: { keys: [{ id: 'demo-admin', key: opts.adminKey, role: 'admin' }] },
    detect: DEMO_DETECT,
  };
}

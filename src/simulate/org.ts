import type { RuleId } from '../detect/types.js';
import type { Rng } from './random.js';
import { projectVocabulary } from './text.js';

/**
 * The simulated organisation: teams, people with time zones, hours and habits, and the behaviours injected into
 * some of them (each with its days). Honest heavy users are never carriers: their large spend comes with outcomes.
 */

export const ARCHETYPES = ['light', 'normal', 'heavy'] as const;
export type Archetype = (typeof ARCHETYPES)[number];

/** Waste behaviours injected, one rule per carrier (the label the benchmark scores against). */
export type Injected = Exclude<RuleId, never>;

export interface Person {
  index: number;
  id: string;
  teamId: string;
  projectId: string;
  vocab: string[];
  /** Minutes east of UTC (fixed offsets; daylight saving is ignored). */
  tzOffsetMin: number;
  /** Local hour the working day starts, and its length in hours. */
  startHour: number;
  workHours: number;
  archetype: Archetype;
  sessionsPerDay: number;
  chatsPerDay: number;
  /** Model for coding-agent sessions and for chat. */
  agentModel: string;
  chatModel: string;
  /** Share of chat prompts that are simple. */
  simpleShare: number;
  onCall: boolean;
  /** Runs a declared nightly job (tagged `scheduled`). */
  scheduledJob: boolean;
  /** Works harder before month end, with more prompts (an honest look-alike of period-end surges). */
  crunch: boolean;
  weekendWork: number;
  commitsPerDay: number;
  pto: Set<number>;
  /** The injected behaviour and the (local) days it happens on; null for people without one. */
  carrier: Injected | null;
  days: Set<number>;
}

export interface Org {
  people: Person[];
  teams: string[];
}

const ZONES = [
  [-480, 0.2],
  [-300, 0.25],
  [0, 0.15],
  [60, 0.2],
  [330, 0.12],
  [540, 0.08],
] as const;

/** Carriers per 500 people and how many days each carries the behaviour (min, max). */
const CARRIERS: Record<Injected, { per500: number; days: [number, number]; from: number }> = {
  'rephrase-loop': { per500: 50, days: [1, 3], from: 1 },
  'context-bloat': { per500: 35, days: [1, 2], from: 1 },
  'premium-overkill': { per500: 35, days: [2, 4], from: 1 },
  'idle-loop': { per500: 30, days: [1, 2], from: 6 },
  'agent-circle': { per500: 45, days: [1, 3], from: 1 },
  'fan-out': { per500: 30, days: [1, 2], from: 1 },
  'period-end-surge': { per500: 25, days: [0, 0], from: 0 },
  'spend-anomaly': { per500: 20, days: [1, 1], from: 29 },
};

export function buildOrg(rng: Rng, peopleCount: number, days: number, isWorkday: (p: Person, day: number) => boolean): Org {
  const teams: string[] = [];
  const people: Person[] = [];
  let index = 0;
  while (index < peopleCount) {
    const teamId = `team-${String(teams.length + 1).padStart(2, '0')}`;
    teams.push(teamId);
    const size = Math.min(peopleCount - index, rng.int(6, 18));
    const [tz] = rng.weighted(ZONES.map((z) => [z, z[1]] as const));
    const vocab = projectVocabulary(rng);
    for (let k = 0; k < size; k++, index++) {
      const archetype = rng.weighted<Archetype>([['light', 0.18], ['normal', 0.7], ['heavy', 0.12]]);
      const heavy = archetype === 'heavy';
      const anthropic = rng.chance(0.65);
      const agentModel = anthropic ? (heavy && rng.chance(0.35) ? 'claude-opus-4-1' : 'claude-sonnet-4-5') : heavy && rng.chance(0.3) ? 'gpt-5' : 'gpt-5.2-codex';
      const premiumChat = heavy && rng.chance(0.4);
      people.push({
        index,
        id: `u${String(index + 1).padStart(4, '0')}`,
        teamId,
        projectId: `${teamId}-app`,
        vocab,
        tzOffsetMin: rng.chance(0.85) ? tz : rng.pick(ZONES)[0],
        startHour: rng.uniform(7.5, 10.5),
        workHours: rng.uniform(7.5, 9.5),
        archetype,
        sessionsPerDay: heavy ? rng.uniform(4, 8) : archetype === 'normal' ? rng.uniform(1.5, 3.5) : rng.uniform(0.3, 1.2),
        chatsPerDay: heavy ? rng.uniform(4, 10) : archetype === 'normal' ? rng.uniform(2, 7) : rng.uniform(0.5, 3),
        agentModel,
        chatModel: premiumChat ? rng.pick(['claude-opus-4-1', 'o3']) : rng.pick(['claude-sonnet-4-5', 'gpt-5', 'gpt-5-mini', 'claude-haiku-4-5', 'gemini-2.5-flash']),
        // Heavy users on a premium chat model use it for hard questions; a few quick ones slip through.
        simpleShare: premiumChat ? rng.uniform(0.05, 0.25) : rng.uniform(0.1, 0.45),
        onCall: rng.chance(heavy ? 0.3 : 0.1),
        scheduledJob: heavy && rng.chance(0.25),
        crunch: heavy && rng.chance(0.5),
        weekendWork: rng.chance(0.25) ? rng.uniform(0.1, 0.4) : 0.02,
        commitsPerDay: heavy ? rng.uniform(4, 9) : archetype === 'normal' ? rng.uniform(1.2, 3) : rng.uniform(0.2, 1),
        pto: new Set(),
        carrier: null,
        days: new Set(),
      });
    }
  }
  for (const p of people) {
    const ptoStart = rng.int(0, days);
    if (rng.chance(0.35)) for (let d = ptoStart; d < ptoStart + rng.int(1, 5); d++) p.pto.add(d);
  }
  // Carriers come from light and normal people only, so every heavy user is an honest heavy user.
  const pool = rng.shuffle(people.filter((p) => p.archetype !== 'heavy'));
  for (const [rule, spec] of Object.entries(CARRIERS) as [Injected, (typeof CARRIERS)[Injected]][]) {
    const n = Math.round((spec.per500 * peopleCount) / 500);
    for (let i = 0; i < n && pool.length > 0; i++) {
      const p = pool.pop()!;
      p.carrier = rule;
      if (rule === 'period-end-surge') continue;
      const want = rng.int(spec.days[0], spec.days[1]);
      const candidates = rng.shuffle(Array.from({ length: days - spec.from }, (_, k) => k + spec.from).filter((d) => isWorkday(p, d)));
      if (rule === 'premium-overkill' && candidates.length > 0) {
        // A habit: consecutive working days.
        const first = Math.min(...candidates.slice(0, 3));
        for (let d = first; p.days.size < want && d < days; d++) if (isWorkday(p, d)) p.days.add(d);
      } else for (const d of candidates.slice(0, want)) p.days.add(d);
    }
  }
  return { people, teams };
}

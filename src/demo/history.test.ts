import { describe, expect, it } from 'vitest';
import { createPricer } from '../usage/pricing.js';
import type { UsageEvent } from '../usage/event.js';
import { demoHistory, historySpend, HISTORY_DAYS, HISTORY_LOOP_USER } from './history.js';
import { demoBudgets, PEOPLE, PILOT_START_SHARE } from './org.js';

/**
 * The demo's made-up history must let a member see their team's page (dashboard.minGroupSize 3 and maxShare 0.85,
 * the defaults): in the month shown, on each day and for each model, at least two colleagues spent and none most of
 * it, or else the cells left out, together, still pass (README, Small teams). Whatever the date the demo starts on.
 */
const pricer = createPricer();
const DAY = 86_400_000;

/** The threshold and dominance rules, as views.ts applies them to a cell (person → spend, the viewer left out). */
function passes(spend: ReadonlyMap<string, number>): boolean {
  const values = [...spend.values()].filter((v) => v > 0);
  const total = values.reduce((a, b) => a + b, 0);
  return values.length >= 2 && Math.max(...values) <= 0.85 * total;
}

function cells(events: readonly UsageEvent[], viewer: string, key: (e: UsageEvent) => string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const e of events) {
    if (e.userId === viewer || e.userId === null) continue;
    const cell = out.get(key(e)) ?? new Map<string, number>();
    cell.set(e.userId, (cell.get(e.userId) ?? 0) + (e.costUsd ?? 0));
    out.set(key(e), cell);
  }
  return out;
}

/** What a member would be shown of their team's month: null if withheld, else whether days and models are. */
function memberView(events: readonly UsageEvent[], viewer: string): { month: boolean; days: boolean; models: boolean } {
  const month = cells(events, viewer, () => 'month').get('month') ?? new Map();
  const all = (key: (e: UsageEvent) => string) => {
    const hidden = [...cells(events, viewer, key).entries()].filter(([, c]) => !passes(c)).map(([k]) => k);
    // Cells left out must not, together, be one colleague's figures.
    return hidden.length === 0 || passes(cells(events.filter((e) => hidden.includes(key(e))), viewer, () => 'x').get('x') ?? new Map());
  };
  return { month: passes(month), days: all((e) => new Date(e.startedAt).toISOString().slice(0, 10)), models: all((e) => e.modelServed ?? '') };
}

describe("the demo's history", () => {
  const keyIds = new Map(PEOPLE.map((p) => [p.id, `key-${p.id}`]));

  it('shows every member their team and its days on any day of the month, at any hour, and its models from the 3rd', () => {
    // August 2026 begins on a Saturday, December 2026 on a Tuesday. (Every day of 2026 at four hours passed too.)
    const starts: number[] = [];
    for (const [m, days] of [[7, 31], [11, 3]] as const) for (let d = 0; d < days; d++) for (const hour of [0.5, 13]) starts.push(Date.UTC(2026, m, 1) + d * DAY + hour * 3_600_000);
    for (const now of starts) {
      const { events } = demoHistory({ now, people: PEOPLE, keyIds, pricer, secret: 'demo-test-secret-0123' });
      const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
      const month = events.filter((e) => e.startedAt >= monthStart && e.startedAt < now);
      // In a month's first days a model only one colleague used yet is grouped, or the whole mix withheld when the
      // grouped ones are one colleague's: the demo's own traffic fills it in.
      const early = new Date(now).getUTCDate() < 3;
      for (const p of PEOPLE.filter((x) => x.role === 'member')) {
        const v = memberView(month.filter((e) => e.teamId === p.team), p.id);
        expect([new Date(now).toISOString(), p.id, { ...v, models: early || v.models }]).toEqual([new Date(now).toISOString(), p.id, { month: true, days: true, models: true }]);
      }
    }
  });

  it('is stored quickly: a few thousand priced gateway events, all before the start', () => {
    const now = Date.UTC(2026, 11, 9, 10);
    const { events, fingerprints } = demoHistory({ now, people: PEOPLE, keyIds, pricer, secret: 'demo-test-secret-0123' });
    expect(events.length).toBeGreaterThan(1_000);
    expect(events.length).toBeLessThan(6_000);
    expect(events.every((e) => e.source === 'gateway' && e.costUsd! > 0 && e.endedAt < now && e.startedAt >= now - (HISTORY_DAYS + 1) * DAY)).toBe(true);
    expect(new Set(events.map((e) => e.keyId))).toEqual(new Set(keyIds.values()));
    // The loop to find at once: four fingerprinted tries by john on the last working day.
    expect(fingerprints.map((f) => f.userId)).toEqual([HISTORY_LOOP_USER, HISTORY_LOOP_USER, HISTORY_LOOP_USER, HISTORY_LOOP_USER]);
    // The pilot budget starts just under its 80% threshold.
    const budgets = demoBudgets(historySpend(events));
    const pilot = budgets.find((b) => b.id === 'platform-pilot')!;
    const spent = historySpend(events).teamSpend['platform']!;
    expect(spent / pilot.amount).toBeCloseTo(PILOT_START_SHARE, 2);
    expect(pilot.thresholds).toEqual([80, 100]);
  });
});

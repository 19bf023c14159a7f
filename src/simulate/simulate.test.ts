import { describe, expect, it } from 'vitest';
import { DetectionEngine } from '../detect/engine.js';
import { RULE_IDS } from '../detect/types.js';
import { evaluate } from './evaluate.js';
import { simulate, type SimulationSummary } from './generate.js';
import { fingerprintJson } from './write.js';
import type { SimRecord } from './world.js';

function collect(seed: number, people: number, days: number): { records: SimRecord[]; summary: SimulationSummary; outcomes: number } {
  const records: SimRecord[] = [];
  let outcomes = 0;
  const gen = simulate({ seed, people, days });
  let next = gen.next();
  while (next.done !== true) {
    records.push(...next.value.records);
    outcomes += next.value.outcomes.length;
    next = gen.next();
  }
  return { records, summary: next.value, outcomes };
}

describe('simulate', () => {
  const a = collect(7, 40, 35);

  it('is deterministic from the seed', () => {
    const b = collect(7, 40, 35);
    expect(b.records.length).toBe(a.records.length);
    expect(b.records.slice(0, 500).map((r) => [r.event.id, r.event.costUsd, r.fp?.toolStep])).toEqual(a.records.slice(0, 500).map((r) => [r.event.id, r.event.costUsd, r.fp?.toolStep]));
    expect(b.summary.labels).toEqual(a.summary.labels);
    const c = collect(8, 40, 10);
    expect(c.records.slice(0, 50).map((r) => r.event.costUsd)).not.toEqual(a.records.slice(0, 50).map((r) => r.event.costUsd));
  });

  it('yields time-ordered requests with labels for every rule, honest heavy users and outcomes', () => {
    for (let i = 1; i < a.records.length; i++) expect(a.records[i]!.event.startedAt).toBeGreaterThanOrEqual(a.records[i - 1]!.event.startedAt);
    const rules = new Set(a.summary.labels.map((l) => l.rule));
    for (const rule of RULE_IDS) expect(rules.has(rule)).toBe(true);
    expect(a.summary.honestHeavy.length).toBeGreaterThan(0);
    expect(a.outcomes).toBeGreaterThan(100);
    expect(a.summary.traces).toBe('traces');
  });

  it('keeps no text: events and fingerprints carry numbers and hashes only', () => {
    const sample = a.records.filter((_, i) => i % 97 === 0);
    const dump = JSON.stringify(sample.map((r) => [r.event, r.fp ? fingerprintJson(r.fp) : null]));
    for (const word of ['ledger', 'invoice', 'refactor', 'migration', 'summarize', 'document', 'translate']) expect(dump).not.toContain(word);
  });

  it('is detectable: most injected behaviours are found, few honest people are flagged', () => {
    const engine = new DetectionEngine();
    for (const r of a.records) engine.push(r);
    const findings = engine.finish();
    const teams = new Map(a.summary.labels.map((l) => [l.userId, l.teamId]));
    const e = evaluate(findings, a.summary.labels, { honestHeavy: a.summary.honestHeavy, teamOf: (u) => teams.get(u) });
    const waste = e.rules.filter((r) => r.rule !== 'spend-anomaly');
    const found = waste.reduce((n, r) => n + r.found, 0);
    const labels = waste.reduce((n, r) => n + r.labels, 0);
    const tp = waste.reduce((n, r) => n + r.truePositives, 0);
    const all = waste.reduce((n, r) => n + r.findings, 0);
    expect(found / labels).toBeGreaterThan(0.7);
    expect(tp / all).toBeGreaterThan(0.85);
    expect(e.honestHeavyFlagged.length).toBeLessThanOrEqual(1);
  });
});

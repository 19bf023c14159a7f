import { simulate } from './src/simulate/generate.js';
import { DetectionEngine } from './src/detect/engine.js';
import { defaultDetectConfig } from './src/detect/config.js';
let first = simulate({ seed: 1, people: 500, days: 60 }); let f0; for (f0 = first.next(); !f0.done; f0 = first.next()) {}
const labels = (f0.value as any).labels.filter((l: any) => l.rule === 'spend-anomaly');
const keep = new Set(labels.map((l: any) => l.userId));
const gen = simulate({ seed: 1, people: 500, days: 60 });
const recs: any[] = [];
let n; for (n = gen.next(); !n.done; n = gen.next()) for (const r of n.value.records) if (keep.has(r.event.userId)) recs.push(r);
const e = new DetectionEngine({ rules: ['spend-anomaly'] }); for (const r of recs) e.push(r); const f = e.finish();
const e2 = new DetectionEngine({ rules: ['spend-anomaly'], config: defaultDetectConfig({ spendAnomaly: { minUsd: { user: 0 } } }) }); for (const r of recs) e2.push(r); const f2 = e2.finish();
for (const l of labels) {
  const day = Math.floor(l.start / 86400000);
  const spend = (d: number) => recs.filter((r) => r.event.userId === l.userId && Math.floor(r.event.startedAt / 86400000) === d).reduce((a, r) => a + r.event.costUsd, 0);
  const hit = f.some((x) => x.subject.id === l.userId && x.start <= l.end + 43200000 && x.end >= l.start - 43200000);
  const hit2 = f2.some((x) => x.subject.id === l.userId && x.start <= l.end + 43200000 && x.end >= l.start - 43200000);
  console.log(l.userId, new Date(l.start).toISOString().slice(0, 10), hit, hit2, [28, 21, 14, 7, 0].map((k) => spend(day - k).toFixed(1)).join(' '), spend(day + 1).toFixed(1));
}

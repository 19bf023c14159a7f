import { simulate } from './src/simulate/generate.js';
import { DetectionEngine } from './src/detect/engine.js';
const recs: any[] = [];
const gen = simulate({ seed: 1, people: 80, days: 40 });
for (let r = gen.next(); !r.done; r = gen.next()) recs.push(...r.value.records);
for (let k = 0; k < 3; k++) {
  const e = new DetectionEngine();
  const t0 = performance.now();
  for (const r of recs) e.push(r);
  e.finish();
  console.log(recs.length, Math.round(recs.length / (performance.now() - t0) * 1000), '/s');
}

import { Rng } from './src/simulate/random.js';
import { World } from './src/simulate/world.js';
import { loadTraces } from './src/simulate/traces.js';
import { buildOrg } from './src/simulate/org.js';
import * as inject from './src/simulate/injected.js';
import { DetectionEngine } from './src/detect/engine.js';
import { similarity } from './src/detect/fingerprint/text.js';
const r = new Rng(3);
const w = new World(r.fork(1), 'simulated-secret-1-0123456789', loadTraces(r.fork(2)), Date.UTC(2026, 8, 7));
const org = buildOrg(r.fork(3), 20, 10, () => true);
let found = 0;
for (let i = 0; i < 20; i++) {
  const p = org.people[i]!;
  w.pending = [];
  inject.rephraseLoop(w, r.fork(100 + i), p, Date.UTC(2026, 8, 8, 10));
  const recs = w.pending.sort((a, b) => a.event.startedAt - b.event.startedAt);
  const prompts = recs.filter((x) => x.fp?.humanTurn && x.fp.prompt);
  const sims = prompts.slice(1).map((x, k) => similarity(prompts[k]!.fp!.prompt!, x.fp!.prompt!).toFixed(2));
  const e = new DetectionEngine({ rules: ['rephrase-loop'], config: (await import('./src/detect/config.js')).defaultDetectConfig({ rephraseLoop: { minWastedUsd: 0 } }) });
  for (const x of recs) e.push(x);
  const f = e.finish();
  if (f.length) found++;
  const seq = prompts.slice(1).map((x, k) => (x.event.startedAt >= recs.filter(y=>y.event.sessionId===prompts[k]!.event.sessionId && y.event.startedAt < x.event.startedAt).reduce((a,y)=>Math.max(a,y.event.endedAt),0) ? 's' : 'o'));
  console.log(i, prompts.length, new Set(prompts.map(x=>x.event.sessionId)).size, sims.join(' '), seq.join(''), f.length, f[0]?.summary ?? '');
}
console.log('found', found);
{
  const i = 18; const p = org.people[i]!;
  const w2 = new World(new Rng(3).fork(1), 'simulated-secret-1-0123456789', loadTraces(new Rng(3).fork(2)), Date.UTC(2026, 8, 7));
  inject.rephraseLoop(w2, new Rng(99), p, Date.UTC(2026, 8, 8, 10));
  const recs = w2.pending.sort((a, b) => a.event.startedAt - b.event.startedAt);
  for (const x of recs) console.log(x.event.startedAt - recs[0]!.event.startedAt, x.event.endedAt - recs[0]!.event.startedAt, x.fp?.humanTurn, x.event.costUsd?.toFixed(4), x.event.errorClass);
  const e = new DetectionEngine({ rules: ['rephrase-loop'] });
  for (const x of recs) e.push(x);
  console.log(e.finish().length);
}
{
  const p = org.people[18]!;
  const w2 = new World(new Rng(3).fork(1), 'simulated-secret-1-0123456789', loadTraces(new Rng(3).fork(2)), Date.UTC(2026, 8, 7));
  inject.rephraseLoop(w2, new Rng(99), p, Date.UTC(2026, 8, 8, 10));
  const recs = w2.pending.sort((a, b) => a.event.startedAt - b.event.startedAt);
  const prompts = recs.filter((x) => x.fp?.humanTurn && x.fp.prompt);
  for (let a = 0; a < prompts.length; a++) console.log(prompts.map((y) => similarity(prompts[a]!.fp!.prompt!, y.fp!.prompt!).toFixed(2)).join(' '));
  const e = new DetectionEngine({ rules: ['rephrase-loop'], config: (await import('./src/detect/config.js')).defaultDetectConfig({ rephraseLoop: { minWastedUsd: 0 } }) });
  for (const x of recs) e.push(x);
  console.log(e.finish().map(f => f.summary));
}

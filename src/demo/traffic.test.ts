import { describe, expect, it } from 'vitest';
import { defaultDetectConfig } from '../detect/config.js';
import { DetectionEngine } from '../detect/engine.js';
import { fingerprintOf, fingerprintRequest } from '../detect/fingerprint/fingerprint.js';
import { event, SECRET, T0 } from '../detect/testing.js';
import type { DetectInput, Finding } from '../detect/types.js';
import type { Endpoint } from '../usage/event.js';
import { DEMO_DETECT, PEOPLE } from './org.js';
import { LOOP_AT_S, loopCall, RegularTraffic, type DemoCall } from './traffic.js';

/**
 * Why the demo showed no live finding, and that it now does within minutes. A rephrase loop is reported when it
 * ends (no near-duplicate for `maxGapMinutes`); the demo's old traffic sent each person the same six prompts in
 * turn, forever, so its loops never ended. Its people now walk a longer list (no repeats within minutes), and
 * scripted loops end. Checked here on the detection engine in stream time, with the fingerprints the gateway makes.
 */

const ENDPOINTS: Record<string, Endpoint> = {
  '/v1/chat/completions': 'chat.completions',
  '/v1/messages': 'messages',
  '/v1/responses': 'responses',
  '/v1/embeddings': 'embeddings',
};

function request(call: DemoCall, over: { startedAt: number; userId: string; sessionId: string; costUsd: number }): DetectInput {
  const e = event({ ...over, endedAt: over.startedAt + 3_500, teamId: PEOPLE.find((p) => p.id === over.userId)?.team ?? null });
  const core = fingerprintRequest(call.body, ENDPOINTS[call.path]!, SECRET);
  return { event: e, fp: core === null ? null : fingerprintOf(core, { eventId: e.id, at: e.startedAt, userId: e.userId, sessionId: e.sessionId }) };
}

/** The loop's four tries by ada from T0, costing what claude-sonnet-4-5 charges for the ~6k tokens each. */
const loop = (): DetectInput[] =>
  LOOP_AT_S.map((s, i) => request(loopCall(i), { startedAt: T0 + s * 1000, userId: 'ada', sessionId: 'demo-ada-loop-0', costUsd: 0.023 }));

/** The engine's clock moved as live detection moves it: every `intervalSeconds`, to now − `reorderSeconds`. */
function firstFindingAt(inputs: DetectInput[], config: ReturnType<typeof defaultDetectConfig>, untilMs: number): { at: number; findings: Finding[] } | null {
  const findings: Finding[] = [];
  const engine = new DetectionEngine({ config, onFinding: (f) => findings.push(f) });
  const sorted = [...inputs].sort((a, b) => a.event.startedAt - b.event.startedAt);
  let i = 0;
  for (let now = T0; now <= T0 + untilMs; now += config.live.intervalSeconds * 1000) {
    const watermark = now - config.live.reorderSeconds * 1000;
    while (i < sorted.length && sorted[i]!.event.startedAt < watermark) engine.push(sorted[i++]!);
    engine.tick(watermark);
    if (findings.length > 0) return { at: now, findings };
  }
  return null;
}

describe("the demo's traffic and live detection", () => {
  const demo = defaultDetectConfig(DEMO_DETECT);

  it("ada's scripted loop is a rephrase loop under the default thresholds, found by the demo's live timings about three minutes after it starts", () => {
    const found = firstFindingAt(loop(), demo, 10 * 60_000);
    expect(found).not.toBeNull();
    expect((found!.at - T0) / 1000).toBeLessThanOrEqual(200);
    expect(found!.findings.map((f) => [f.rule, f.userId, f.evidence.counts['prompts']])).toEqual([['rephrase-loop', 'ada', 4]]);
    // Only the timings differ from the defaults: with them, the same loop is found, ten minutes after its last try.
    const defaults = defaultDetectConfig();
    expect({ ...demo, live: defaults.live, rephraseLoop: defaults.rephraseLoop }).toEqual(defaults);
    const slow = firstFindingAt(loop(), defaults, 30 * 60_000);
    expect(slow!.findings.map((f) => f.rule)).toEqual(['rephrase-loop']);
    expect((slow!.at - T0) / 60_000).toBeGreaterThan(12);
  });

  it('regular traffic (a request every 3 s for an hour) repeats nobody\'s question within minutes: no loop that never ends', () => {
    const traffic = new RegularTraffic(PEOPLE);
    const inputs: DetectInput[] = [];
    for (let t = 0; t < 3_600_000; t += 3_000) {
      const { person, call, session } = traffic.next();
      inputs.push(request(call, { startedAt: T0 + t, userId: person.id, sessionId: session, costUsd: 0.01 }));
    }
    for (const config of [demo, defaultDetectConfig()]) {
      const engine = new DetectionEngine({ config, rules: ['rephrase-loop'] });
      for (const x of inputs) engine.push(x);
      expect(engine.finish(T0 + 2 * 3_600_000)).toEqual([]);
    }
    // With the loop among it, the loop is what is found, and on time.
    const found = firstFindingAt([...inputs, ...loop()], demo, 10 * 60_000);
    expect(found!.findings.filter((f) => f.rule === 'rephrase-loop').map((f) => f.userId)).toEqual(['ada']);
    expect((found!.at - T0) / 1000).toBeLessThanOrEqual(200);
  });
});

import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Fingerprint } from '../detect/fingerprint/types.js';
import type { FindingsStore } from '../detect/store.js';
import { supportsImports, type Store } from '../store/types.js';
import { simulate, type SimulateOptions, type SimulationSummary } from './generate.js';
import type { SimOutcome } from './world.js';

/** Where `goodhart simulate` puts its output: a store (events + fingerprints) or a folder of JSONL files. */
export type SimulationSink =
  | { kind: 'store'; store: Store; findings: FindingsStore }
  | { kind: 'dir'; dir: string };

/** Fingerprints as JSON: the signature as hex (256 bytes), block hashes as numbers. No text, as anywhere. */
export function fingerprintJson(f: Fingerprint): Record<string, unknown> {
  return { ...f, prompt: f.prompt === null ? null : Buffer.from(f.prompt.buffer, f.prompt.byteOffset, f.prompt.byteLength).toString('hex') };
}

function lineWriter(path: string): { write(v: unknown): Promise<void>; close(): Promise<void> } {
  const out: WriteStream = createWriteStream(path);
  return {
    write: (v) =>
      new Promise((resolve) => {
        if (out.write(`${JSON.stringify(v)}\n`)) resolve();
        else out.once('drain', () => resolve());
      }),
    close: () => new Promise((resolve) => out.end(() => resolve())),
  };
}

export interface SimulationFiles {
  summary: SimulationSummary;
  labelsPath: string;
  outcomesPath: string;
}

/**
 * Runs the simulator into a sink. Labels (with the honest heavy users and carriers) go to `labels-seedN.json`,
 * outcomes to `outcomes-seedN.jsonl` (OutcomeEvent, source `api`, `attrs.origin = goodhart-simulate`) in `labelsDir`;
 * a store that keeps outcomes gets them too.
 */
export async function runSimulation(opts: SimulateOptions, sink: SimulationSink, labelsDir: string): Promise<SimulationFiles> {
  mkdirSync(labelsDir, { recursive: true });
  const tag = `seed${opts.seed}`;
  const outcomesPath = join(labelsDir, `outcomes-${tag}.jsonl`);
  const labelsPath = join(labelsDir, `labels-${tag}.json`);
  const outcomes = lineWriter(outcomesPath);
  const events = sink.kind === 'dir' ? lineWriter(join(sink.dir, `events-${tag}.jsonl`)) : null;
  const fps = sink.kind === 'dir' ? lineWriter(join(sink.dir, `fingerprints-${tag}.jsonl`)) : null;
  const gen = simulate(opts);
  let next = gen.next();
  while (next.done !== true) {
    const { records, outcomes: outs } = next.value;
    if (sink.kind === 'store') {
      for (let i = 0; i < records.length; i += 2_000) {
        const slice = records.slice(i, i + 2_000);
        await sink.store.insertEvents(slice.map((r) => r.event));
        await sink.findings.insertFingerprints(slice.flatMap((r) => (r.fp ? [r.fp] : [])));
      }
    } else {
      for (const r of records) {
        await events!.write(r.event);
        if (r.fp) await fps!.write(fingerprintJson(r.fp));
      }
    }
    for (const o of outs as SimOutcome[]) await outcomes.write(o);
    if (sink.kind === 'store' && outs.length > 0 && supportsImports(sink.store)) await sink.store.insertOutcomes(outs);
    next = gen.next();
  }
  await outcomes.close();
  await events?.close();
  await fps?.close();
  const summary = next.value;
  const { outcomes: _omit, ...rest } = summary;
  writeFileSync(labelsPath, `${JSON.stringify(rest, null, 1)}\n`);
  return { summary, labelsPath, outcomesPath };
}

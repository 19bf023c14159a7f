import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Rng } from './random.js';

/**
 * Token sizes drawn from public production traces (../shared/data, see its README):
 * - Azure LLM inference 2023, conversation service: chat requests' context and generated tokens;
 * - Azure LLM inference 2023, code service: small agent-step outputs;
 * - Mooncake conversation trace: long-context turns (input/output lengths) and their 512-token prefix block ids,
 *   whose sharing between requests is real re-use of a document or conversation prefix.
 * Without the files (a checkout without ../shared/data), log-normal stand-ins with similar medians are used and
 * `source` says so.
 */
export interface Traces {
  source: 'traces' | 'parametric';
  chat: Array<[number, number]>;
  code: Array<[number, number]>;
  long: Array<{ input: number; output: number; blocks: number[] }>;
}

export function defaultDataDir(): string {
  const env = process.env['GOODHART_DATA_DIR'];
  if (env !== undefined && env !== '') return env;
  return fileURLToPath(new URL('../../../shared/data', import.meta.url));
}

function csvPairs(path: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 1; i < lines.length; i++) {
    const parts = lines[i]!.split(',');
    const a = Number(parts[1]);
    const b = Number(parts[2]);
    if (Number.isFinite(a) && Number.isFinite(b) && a > 0 && b > 0) out.push([a, b]);
  }
  return out;
}

function mooncake(path: string): Traces['long'] {
  const out: Traces['long'] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as { input_length?: unknown; output_length?: unknown; hash_ids?: unknown };
      if (typeof r.input_length === 'number' && typeof r.output_length === 'number' && Array.isArray(r.hash_ids)) {
        out.push({ input: r.input_length, output: r.output_length, blocks: r.hash_ids.filter((x): x is number => typeof x === 'number') });
      }
    } catch {
      // a bad line in a public trace is skipped, not fatal
    }
  }
  return out;
}

function parametric(rng: Rng): Traces {
  const chat: Array<[number, number]> = [];
  const code: Array<[number, number]> = [];
  const long: Traces['long'] = [];
  for (let i = 0; i < 4000; i++) {
    chat.push([Math.round(rng.lognormal(1000, 1.0)), Math.round(rng.lognormal(230, 0.9))]);
    code.push([Math.round(rng.lognormal(2000, 0.8)), Math.round(rng.lognormal(20, 1.2)) + 1]);
    const input = Math.round(rng.lognormal(7000, 0.9));
    long.push({ input, output: Math.round(rng.lognormal(300, 0.8)), blocks: Array.from({ length: Math.ceil(input / 512) }, (_, k) => i * 1000 + k) });
  }
  return { source: 'parametric', chat, code, long };
}

export function loadTraces(rng: Rng, dataDir = defaultDataDir()): Traces {
  const files = {
    conv: join(dataDir, 'azure-llm-2023', 'conv.csv'),
    code: join(dataDir, 'azure-llm-2023', 'code.csv'),
    long: join(dataDir, 'mooncake', 'conversation_trace.jsonl'),
  };
  if (!Object.values(files).every((f) => existsSync(f))) return parametric(rng);
  return { source: 'traces', chat: csvPairs(files.conv), code: csvPairs(files.code), long: mooncake(files.long) };
}

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The RouteLLM labelled prompts (../shared/data/routellm, Apache-2.0): for each GSM8K and MMLU prompt, whether
 * Mixtral-8x7B (the weak model) and GPT-4 (the strong one) answered correctly. Read in place, never copied.
 */

export const DATA_DIR = new URL('../../../shared/data/routellm/', import.meta.url).pathname;
const WEAK = 'mistralai/Mixtral-8x7B-Instruct-v0.1';
const STRONG = 'gpt-4-1106-preview';

export interface Example {
  prompt: string;
  /** `gsm8k` or the MMLU subject (`mmlu/professional_law`). */
  source: string;
  weakCorrect: boolean;
  strongCorrect: boolean;
  split: 'train' | 'test';
}

/** RFC 4180 rows: quoted fields may hold commas, newlines and doubled quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field.length > 0 || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * The held-out split: 20% of prompts, chosen by a hash of the prompt text, so it never changes between runs and
 * a prompt that appears twice (MMLU has a few repeats) is always on one side.
 */
export function splitOf(prompt: string): 'train' | 'test' {
  const h = createHash('sha256').update(prompt).digest();
  return h.readUInt32BE(0) % 5 === 0 ? 'test' : 'train';
}

function readFile(path: string, source: string): Example[] {
  const rows = parseCsv(readFileSync(path, 'utf8'));
  const header = rows[0] ?? [];
  const p = header.indexOf('prompt');
  const w = header.indexOf(WEAK);
  const s = header.indexOf(STRONG);
  if (p < 0 || w < 0 || s < 0) throw new Error(`${path}: expected columns prompt, ${WEAK}, ${STRONG}`);
  const out: Example[] = [];
  for (const r of rows.slice(1)) {
    const prompt = r[p];
    if (prompt === undefined || prompt.length === 0) continue;
    out.push({ prompt, source, weakCorrect: r[w] === 'True', strongCorrect: r[s] === 'True', split: splitOf(prompt) });
  }
  return out;
}

export function loadExamples(dir = DATA_DIR): Example[] {
  const all = readFile(join(dir, 'gsm8k_responses.csv'), 'gsm8k');
  const mmlu = join(dir, 'mmlu');
  for (const f of readdirSync(mmlu).filter((n) => n.endsWith('.csv')).sort()) {
    all.push(...readFile(join(mmlu, f), `mmlu/${f.replace(/^mmlu_/, '').replace(/\.csv$/, '')}`));
  }
  return all;
}

/** The request a client would have sent for the prompt: one user message. */
export function asChatBody(prompt: string): Record<string, unknown> {
  return { model: 'gpt-5', messages: [{ role: 'user', content: prompt }] };
}

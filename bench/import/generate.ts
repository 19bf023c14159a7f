/**
 * Writes a realistic Claude Code log corpus: `<root>/projects/<cwd with / as ->/<sessionId>.jsonl`, plus subagent
 * files under `<sessionId>/subagents/`. Lines are shaped like Claude Code 2.x writes them: user prompts, tool
 * results carrying file contents (most of the bytes), and one assistant line per content block (thinking, text,
 * tool_use) repeating the message id, request id and usage, the earlier ones with a partial output count.
 * Deterministic for a given seed.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const MODELS = ['claude-sonnet-4-6', 'claude-sonnet-4-6', 'claude-opus-4-6', 'claude-haiku-4-5-20251001'] as const;
const WORDS =
  'the of and to a in is it that for on with as this was by be are or from at an not have but function const return value import export type interface file error test string number async await promise module config user request response token usage cost model'.split(
    ' ',
  );

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CorpusOptions {
  root: string;
  targetBytes: number;
  seed?: number;
  /** Session files (not counting subagent files). */
  sessions?: number;
  projects?: number;
  /** Start of the first session (epoch ms); default 2026-03-01T08:00Z. */
  start?: number;
}

export interface CorpusFile {
  path: string;
  bytes: number;
}

class Gen {
  private readonly r: () => number;
  private n = 0;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  hex(len: number): string {
    let s = '';
    while (s.length < len) s += Math.floor(this.r() * 0xffffffff).toString(16).padStart(8, '0');
    return s.slice(0, len);
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
  /** Prose of about `bytes` characters, with the odd quote and newline that JSON must escape. */
  text(bytes: number): string {
    const parts: string[] = [];
    let len = 0;
    while (len < bytes) {
      const w = WORDS[Math.floor(this.r() * WORDS.length)]!;
      parts.push(w);
      len += w.length + 1;
      this.n += 1;
      if (this.n % 17 === 0) parts.push('"quoted"');
      if (this.n % 23 === 0) parts.push('\n');
    }
    return parts.join(' ');
  }
}

/** Generates the corpus; returns the files written with their sizes. */
export function generateCorpus(opts: CorpusOptions): CorpusFile[] {
  const g = new Gen(opts.seed ?? 42);
  const sessions = opts.sessions ?? 1500;
  const projects = opts.projects ?? 40;
  const perSession = opts.targetBytes / sessions;
  const files: CorpusFile[] = [];
  let t = opts.start ?? Date.parse('2026-03-01T08:00:00Z');
  for (let s = 0; s < sessions; s++) {
    const cwd = `/home/dev/src/project-${s % projects}`;
    const dir = join(opts.root, 'projects', cwd.replace(/[/.]/g, '-'));
    mkdirSync(dir, { recursive: true });
    const sessionId = g.uuid();
    // Sizes vary a lot between sessions: 0.2× to 1.8× the mean.
    const target = Math.round(perSession * (0.2 + 1.6 * (g.int(0, 1000) / 1000)));
    t += g.int(10, 60) * 60_000;
    const main = join(dir, `${sessionId}.jsonl`);
    const subTarget = g.chance(0.3) ? Math.round(target * 0.15) : 0;
    const mainBytes = writeSession(g, main, { cwd, sessionId, target: target - subTarget, start: t, sidechain: false });
    files.push({ path: main, bytes: mainBytes });
    if (subTarget > 0) {
      const sub = join(dir, sessionId, 'subagents', `agent-${g.hex(8)}.jsonl`);
      mkdirSync(join(dir, sessionId, 'subagents'), { recursive: true });
      files.push({ path: sub, bytes: writeSession(g, sub, { cwd, sessionId, target: subTarget, start: t, sidechain: true }) });
    }
  }
  return files;
}

interface SessionOptions {
  cwd: string;
  sessionId: string;
  target: number;
  start: number;
  sidechain: boolean;
}

function writeSession(g: Gen, path: string, o: SessionOptions): number {
  const fd = openSync(path, 'w');
  let pending: string[] = [];
  let pendingBytes = 0;
  let written = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const buf = Buffer.from(pending.join(''), 'utf8');
    writeSync(fd, buf);
    written += buf.length;
    pending = [];
    pendingBytes = 0;
  };
  const emit = (line: string): void => {
    pending.push(line, '\n');
    pendingBytes += line.length + 1;
    if (pendingBytes > 1 << 20) flush();
  };
  const lines = sessionLines(g, o);
  for (const line of lines) {
    emit(line);
    if (written + pendingBytes >= o.target) break;
  }
  flush();
  closeSync(fd);
  return written;
}

/** An endless session: prompt, then turns of assistant blocks and tool results. */
function* sessionLines(g: Gen, o: SessionOptions): Generator<string> {
  let t = o.start;
  let parent: string | null = null;
  const branch = g.pick(['main', 'feature-x', 'fix/login', 'dev']);
  const base = `"isSidechain":${o.sidechain},"userType":"external","cwd":${JSON.stringify(o.cwd)},"sessionId":"${o.sessionId}","version":"2.1.97","gitBranch":"${branch}"`;
  const ts = (): string => new Date((t += g.int(200, 9000))).toISOString();
  const model = g.pick(MODELS);
  let context = g.int(8_000, 20_000);
  for (;;) {
    let uuid = g.uuid();
    yield `{"parentUuid":${parent === null ? 'null' : `"${parent}"`},${base},"type":"user","message":{"role":"user","content":${JSON.stringify(g.text(g.int(40, 600)))}},"uuid":"${uuid}","timestamp":"${ts()}"}`;
    parent = uuid;
    const turns = g.int(2, 12);
    for (let k = 0; k < turns; k++) {
      const msgId = `msg_01${g.hex(22)}`;
      const reqId = `req_011C${g.hex(20)}`;
      const blocks = g.int(1, 3);
      const cacheWrite = g.int(0, 3000);
      const usage = (out: number): string =>
        `{"input_tokens":${g.int(1, 12)},"cache_creation_input_tokens":${cacheWrite},"cache_read_input_tokens":${context},"cache_creation":{"ephemeral_5m_input_tokens":${cacheWrite},"ephemeral_1h_input_tokens":0},"output_tokens":${out},"service_tier":"standard"}`;
      const finalOut = g.int(20, 2500);
      const inputTokens = g.int(1, 12);
      for (let b = 0; b < blocks; b++) {
        const kind = b === blocks - 1 ? 'tool_use' : b === 0 && g.chance(0.5) ? 'thinking' : 'text';
        const content =
          kind === 'thinking'
            ? `{"type":"thinking","thinking":${JSON.stringify(g.text(g.int(200, 2500)))},"signature":"${g.hex(400)}"}`
            : kind === 'text'
              ? `{"type":"text","text":${JSON.stringify(g.text(g.int(100, 1500)))}}`
              : `{"type":"tool_use","id":"toolu_01${g.hex(22)}","name":"Edit","input":{"file_path":"${o.cwd}/src/file${g.int(1, 80)}.ts","old_string":${JSON.stringify(g.text(g.int(50, 800)))},"new_string":${JSON.stringify(g.text(g.int(50, 1200)))}}}`;
        const out = b === blocks - 1 ? finalOut : g.int(1, 10);
        uuid = g.uuid();
        const u = usage(out).replace(/"input_tokens":\d+/, `"input_tokens":${inputTokens}`);
        yield `{"parentUuid":"${parent}",${base},"message":{"model":"${model}","id":"${msgId}","type":"message","role":"assistant","content":[${content}],"stop_reason":null,"stop_sequence":null,"usage":${u}},"requestId":"${reqId}","type":"assistant","uuid":"${uuid}","timestamp":"${ts()}"}`;
        parent = uuid;
      }
      context += cacheWrite + g.int(100, 3000);
      if (context > 180_000) context = g.int(8_000, 20_000);
      uuid = g.uuid();
      const result = g.text(g.int(300, g.chance(0.2) ? 40_000 : 6_000));
      yield `{"parentUuid":"${parent}",${base},"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_01${g.hex(22)}","type":"tool_result","content":${JSON.stringify(result)}}]},"uuid":"${uuid}","timestamp":"${ts()}","toolUseResult":{"stdout":${JSON.stringify(result.slice(0, 2000))},"stderr":"","interrupted":false}}`;
      parent = uuid;
    }
    if (g.chance(0.05)) yield `{"type":"summary","summary":${JSON.stringify(g.text(60))},"leafUuid":"${parent}"}`;
  }
}

/**
 * Appends about `totalBytes` of new session activity, spread over every tenth file: what a day of work adds to an
 * existing corpus. Returns the bytes appended.
 */
export function appendToCorpus(files: readonly CorpusFile[], totalBytes: number, seed = 7, start = Date.parse('2026-05-01T08:00:00Z')): number {
  const g = new Gen(seed);
  const chosen = files.filter((_, i) => i % 10 === 0);
  const per = Math.ceil(totalBytes / Math.max(1, chosen.length));
  let appended = 0;
  for (const f of chosen) {
    const cwd = '/home/dev/src/appended';
    const sessionId = g.uuid();
    const parts: string[] = [];
    let bytes = 0;
    for (const line of sessionLines(g, { cwd, sessionId, target: per, start, sidechain: false })) {
      parts.push(line, '\n');
      bytes += Buffer.byteLength(line) + 1;
      if (bytes >= per) break;
    }
    const fd = openSync(f.path, 'a');
    writeSync(fd, parts.join(''));
    closeSync(fd);
    appended += bytes;
  }
  return appended;
}

import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { GoodhartError } from '../errors.js';
import { checkGovernanceReferences } from '../policy/config.js';
import { configSchema, type GoodhartConfig, type GoodhartConfigInput } from './schema.js';

type Env = Record<string, string | undefined>;

/** `${NAME}` or `${NAME:-default}`; `$${` escapes a literal `${`. */
const ENV_REF = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function substitute(value: string, env: Env, where: string, file: string): string {
  return value.replace(ENV_REF, (whole, escaped: string, name: string, fallback: string | undefined) => {
    if (escaped) return whole.slice(1);
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    throw new GoodhartError(
      'config_invalid',
      500,
      `${file}: ${where} refers to \${${name}}, which is not set. Fix: export ${name}=… before starting, or write \${${name}:-default} in the file.`,
    );
  });
}

function substituteDeep(node: unknown, env: Env, path: string, file: string): unknown {
  if (typeof node === 'string') return substitute(node, env, path || '(root)', file);
  if (Array.isArray(node)) return node.map((v, i) => substituteDeep(v, env, `${path}[${i}]`, file));
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = substituteDeep(v, env, path ? `${path}.${k}` : k, file);
    return out;
  }
  return node;
}

function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s || '(root)';
}

/** The line of the YAML node at `path`, or of its closest existing parent. */
function lineOf(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  let node: Node | null | undefined = doc.contents as Node | null;
  let best = node?.range?.[0];
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(key));
      if (!pair) break;
      best = (pair.key as Node).range?.[0] ?? best;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key] as Node | undefined;
      if (!node) break;
      best = node.range?.[0] ?? best;
    } else break;
  }
  return best === undefined ? undefined : counter.linePos(best).line;
}

function zodMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}. Fix: remove ${issue.keys.length > 1 ? 'them' : 'it'} or check the spelling against schema/goodhart.schema.json`;
  }
  return issue.message;
}

/** Cross-references zod cannot see: models name existing providers, users name existing teams. */
function checkReferences(cfg: GoodhartConfig): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const providers = Object.keys(cfg.providers);
  cfg.models.forEach((m, i) => {
    if (!cfg.providers[m.provider]) {
      problems.push({
        path: ['models', i, 'provider'],
        message: `provider "${m.provider}" is not declared. Fix: use one of ${providers.map((p) => `"${p}"`).join(', ') || '(none declared: add a `providers:` section)'}`,
      });
    }
  });
  const teams = new Set(cfg.teams.map((t) => t.id));
  const check = (list: { team?: string | undefined }[], key: 'users' | 'projects') =>
    list.forEach((u, i) => {
      if (u.team !== undefined && !teams.has(u.team)) {
        problems.push({ path: [key, i, 'team'], message: `team "${u.team}" is not declared. Fix: add it under \`teams:\`` });
      }
    });
  check(cfg.users, 'users');
  check(cfg.projects, 'projects');
  problems.push(...checkGovernanceReferences(cfg));
  return problems;
}

/** Parses and validates config text. Errors name the file, the path inside it, the line, and the fix. */
export function parseConfig(text: string, file: string, env: Env = process.env): GoodhartConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new GoodhartError('config_invalid', 500, `${file}: YAML syntax error: ${e.message}`);
  }
  const substituted = substituteDeep(doc.toJS() ?? {}, env, '', file);
  const result = configSchema.safeParse(substituted);
  const problems = result.success
    ? checkReferences(result.data).map((p) => ({ path: p.path as PropertyKey[], message: p.message }))
    : result.error.issues.map((i) => ({ path: i.path, message: zodMessage(i) }));
  if (problems.length > 0) {
    const lines = problems.slice(0, 10).map((p) => {
      const line = lineOf(doc, counter, p.path);
      return `  ${formatPath(p.path)}${line ? ` (line ${line})` : ''}: ${p.message}`;
    });
    const more = problems.length > 10 ? `\n  …and ${problems.length - 10} more` : '';
    throw new GoodhartError('config_invalid', 500, `${file}: invalid configuration:\n${lines.join('\n')}${more}`);
  }
  return result.data as GoodhartConfig;
}

export function loadConfigFile(file: string, env: Env = process.env): GoodhartConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new GoodhartError(
      'config_invalid',
      500,
      code === 'ENOENT'
        ? `${file}: no such file. Fix: run \`goodhart init\` to write a commented example, or pass --config with the right path.`
        : `${file}: cannot read it (${code ?? String(err)}).`,
    );
  }
  return parseConfig(text, file, env);
}

/**
 * With no config file: providers from the standard variables the official SDKs read
 * (OPENAI_API_KEY / OPENAI_BASE_URL, ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL).
 */
export function configFromEnv(env: Env = process.env): GoodhartConfig {
  const input: GoodhartConfigInput = { providers: {} };
  const providers = input.providers!;
  if (env.OPENAI_API_KEY || env.OPENAI_BASE_URL) {
    providers.openai = {
      type: 'openai',
      baseUrl: env.OPENAI_BASE_URL || 'https://api.openai.com/v1',
      ...(env.OPENAI_API_KEY ? { apiKey: env.OPENAI_API_KEY } : {}),
    };
  }
  if (env.ANTHROPIC_API_KEY || env.ANTHROPIC_BASE_URL) {
    providers.anthropic = {
      type: 'anthropic',
      baseUrl: env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com',
      ...(env.ANTHROPIC_API_KEY ? { apiKey: env.ANTHROPIC_API_KEY } : {}),
    };
  }
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new GoodhartError(
      'config_invalid',
      500,
      `environment: ${formatPath(issue.path)}: ${issue.message}. Fix: check OPENAI_BASE_URL / ANTHROPIC_BASE_URL.`,
    );
  }
  return result.data;
}

import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { GoodhartError } from '../errors.js';
import { hashKey } from '../keys/keys.js';
import { Directory } from '../policy/directory.js';
import { referenceProblems } from '../policy/references.js';
import { didYouMean } from '../util/closest.js';
import { configInvalid, formatPath, type ConfigCheck, type ConfigProblem } from './problems.js';
import { markFromEnv, PROVIDER_ENV } from './provider-env.js';
import { configSchema, PROVIDER_BASE_URLS, type GoodhartConfig, type GoodhartConfigInput } from './schema.js';

type Env = Record<string, string | undefined>;

/**
 * Who the config is loaded for. `serve` (the default) needs every `${VAR}` set. `read`: a command that never calls a
 * provider, an alert receiver or Redis and serves no admin API or webhook (reports, keys, imports, the audit) does not
 * need their secrets: an unset variable in one of the SERVE_ONLY fields is replaced by a stand-in that is never used.
 */
export type ConfigUse = 'serve' | 'read';

/**
 * The fields only the gateway reads (formatPath form), each with a stand-in its schema accepts. Everything else a
 * read command may use (db, timeZone, budgets, identities, the fingerprint secret imports use), so an unset variable
 * there stays an error.
 */
const SERVE_ONLY: readonly { path: RegExp; standIn: string }[] = [
  { path: /^providers\.[^.]+\.(apiKey|baseUrl|headers\..+|query\..+)$/, standIn: 'http://unset.invalid/' },
  { path: /^admin\.keys\[\d+\]\.key$/, standIn: 'unset-admin-key-never-used' },
  { path: /^admin\.keys\[\d+\]\.sha256$/, standIn: '0'.repeat(64) },
  { path: /^alerts\.sinks\[\d+\]\.(url|headers\..+)$/, standIn: 'http://unset.invalid/' },
  { path: /^redis\.url$/, standIn: 'redis://unset.invalid/' },
  { path: /^outcomes\.webhooks\.(github\.secrets|gitlab\.tokens)\[\d+\]$/, standIn: 'unset-secret-never-used' },
];

/** `${NAME}` or `${NAME:-default}`; `$${` escapes a literal `${`. */
const ENV_REF = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

class UnsetVariable {
  constructor(readonly name: string) {}
}

function substitute(value: string, env: Env): string {
  return value.replace(ENV_REF, (whole, escaped: string, name: string, fallback: string | undefined) => {
    if (escaped) return whole.slice(1);
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    throw new UnsetVariable(name);
  });
}

/**
 * Substitutes every string; `substituted` collects the paths of the strings that held a reference, `standIns` those
 * given a stand-in (ConfigUse 'read').
 */
function substituteDeep(node: unknown, env: Env, path: string, file: string, substituted: Set<string>, use: ConfigUse, standIns: Set<string>): unknown {
  if (typeof node === 'string') {
    let out: string;
    try {
      out = substitute(node, env);
    } catch (err) {
      if (!(err instanceof UnsetVariable)) throw err;
      const standIn = use === 'read' ? SERVE_ONLY.find((f) => f.path.test(path))?.standIn : undefined;
      if (standIn !== undefined) {
        standIns.add(path);
        return standIn;
      }
      throw new GoodhartError(
        'config_invalid',
        500,
        `${file}: ${path || '(root)'} refers to \${${err.name}}, which is not set. Fix: export ${err.name}=… before starting, or write \${${err.name}:-default} in the file.`,
      );
    }
    if (out !== node) substituted.add(path);
    return out;
  }
  if (Array.isArray(node)) return node.map((v, i) => substituteDeep(v, env, `${path}[${i}]`, file, substituted, use, standIns));
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = substituteDeep(v, env, path ? `${path}.${k}` : k, file, substituted, use, standIns);
    return out;
  }
  return node;
}

/**
 * Values that are a whole `$NAME`: shells expand that, this file does not (only `${NAME}`), so `apiKey: $OPENAI_API_KEY`
 * would send the text "$OPENAI_API_KEY" as the key. No real value looks like that; a mistake that does is refused.
 */
function bareReferences(node: unknown, path: PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  if (typeof node === 'string') {
    const name = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(node)?.[1];
    return name === undefined ? [] : [{ path, message: `"$${name}" is not a variable here: only \${…} is replaced. Fix: write \${${name}}` }];
  }
  if (Array.isArray(node)) return node.flatMap((v, i) => bareReferences(v, [...path, i]));
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => bareReferences(v, [...path, k]));
  return [];
}

/** The one form `${` may start here, at a given index: `${NAME}` or `${NAME:-default}`. */
const ENV_REF_AT = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/y;
const SUPPORTED_FORMS = '${NAME} or ${NAME:-default} (NAME: letters, digits and _, not starting with a digit), or $${ for a literal ${';

/** Why a `${` at `i` is not a reference this file supports (it stayed literal: `apiKey: ${OPENAI_API_KEY` became the key). */
function brokenReference(text: string, i: number): string {
  const close = text.indexOf('}', i);
  if (close === -1) return `"${text.slice(i, i + 40)}" has no closing }`;
  const inner = text.slice(i + 2, close);
  const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(inner)?.[0];
  if (name !== undefined && name.length < inner.length) {
    return `"\${${inner}}" is a shell form this file does not support (only ":-" gives a default; ":?", "-", ":=", ":+" and the like are not replaced)`;
  }
  return `"\${${inner}}" is not a variable name`;
}

/**
 * Every `${` must start a reference the loader replaces (or be escaped as `$${`): any other is left as it is, and a
 * provider key of "${OPENAI_API_KEY" or "${OPENAI_API_KEY:?unset}" would be sent upstream as the key.
 */
function brokenReferences(node: unknown, path: PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  if (typeof node === 'string') {
    for (let i = node.indexOf('${'); i !== -1; i = node.indexOf('${', i + 2)) {
      if (i > 0 && node[i - 1] === '$') continue;
      ENV_REF_AT.lastIndex = i;
      const ref = ENV_REF_AT.exec(node);
      if (ref !== null && !ref[2]?.includes('${')) continue;
      if (ref !== null) {
        return [{ path, message: `"${ref[0]}}": a default cannot hold another \${…} (it would be used as it is, not replaced). Fix: write one ${SUPPORTED_FORMS}` }];
      }
      return [{ path, message: `${brokenReference(node, i)}, so it would be used as it is, not replaced. Fix: write ${SUPPORTED_FORMS}` }];
    }
    return [];
  }
  if (Array.isArray(node)) return node.flatMap((v, i) => brokenReferences(v, [...path, i]));
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => brokenReferences(v, [...path, k]));
  return [];
}

/**
 * The number or true/false an issue wanted: its own, or for a union (`trustProxy`: true/false or a list of
 * addresses) one of its branches' at the union's own place.
 */
function scalarExpected(issue: z.core.$ZodIssue): 'number' | 'boolean' | undefined {
  const scalar = (t: string): 'number' | 'boolean' | undefined => (t === 'number' || t === 'boolean' ? t : undefined);
  if (issue.code === 'invalid_type') return scalar(issue.expected);
  if (issue.code !== 'invalid_union') return undefined;
  for (const branch of issue.errors) {
    for (const sub of branch) {
      if (sub.path.length === 0 && sub.code === 'invalid_type' && scalar(sub.expected) !== undefined) return scalar(sub.expected);
    }
  }
  return undefined;
}

/**
 * Substitution yields text; where the schema wants a number or true/false and the text came from `${…}`
 * (`port: ${PORT:-8787}`, `enabled: ${LIVE:-false}`), the text is read as one. Only there: an API key of digits stays
 * text where the schema wants text. Returns whether anything changed.
 */
function typeSubstituted(root: unknown, issues: readonly z.core.$ZodIssue[], substituted: ReadonlySet<string>): boolean {
  let changed = false;
  for (const issue of issues) {
    const expected = scalarExpected(issue);
    if (expected === undefined) continue;
    if (!substituted.has(formatPath(issue.path)) || issue.path.length === 0) continue;
    let parent = root as Record<PropertyKey, unknown>;
    for (const key of issue.path.slice(0, -1)) parent = parent[key as PropertyKey] as Record<PropertyKey, unknown>;
    const last = issue.path.at(-1) as PropertyKey;
    const text = String(parent[last]).trim();
    const value = expected === 'boolean' ? ({ true: true, false: false } as Record<string, boolean>)[text.toLowerCase()] : text === '' ? NaN : Number(text);
    if (value === undefined || (typeof value === 'number' && !Number.isFinite(value))) continue;
    parent[last] = value;
    changed = true;
  }
  return changed;
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

const MISSING = Symbol('missing');

/** The value at `path` in the substituted document, or MISSING where a key on the way is absent. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return MISSING;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** What each type zod names is called in a message, and how to write one in YAML. */
const TYPE_WORDS: Record<string, { want: string; fix: string }> = {
  number: { want: 'a number', fix: 'write a number, without quotes' },
  int: { want: 'a whole number', fix: 'write a whole number, without quotes' },
  boolean: { want: 'true or false', fix: 'write true or false, without quotes' },
  string: { want: 'text', fix: 'write text; quote it ("…") when it looks like a number or true/false' },
  array: { want: 'a list', fix: 'write a list: [a, b], or one "- item" per line below the key' },
  object: { want: 'a mapping', fix: 'write `key: value` lines, indented below it' },
  record: { want: 'a mapping', fix: 'write `key: value` lines, indented below it' },
};

function describeValue(v: unknown): string {
  if (v === null) return 'nothing (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the text "${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v === 'number' ? 'the number ' : ''}${String(v)}`;
}

/** For a provider's baseUrl: the example for its type (OpenAI style ends in /v1, Anthropic style does not). */
function baseUrlExample(root: unknown, path: readonly PropertyKey[]): string {
  const type = valueAt(root, [...path.slice(0, -1), 'type']);
  const ofType = (PROVIDER_BASE_URLS as Record<string, string>)[String(type)];
  if (ofType !== undefined) return `e.g. ${ofType} for type ${String(type)}`;
  return `e.g. ${PROVIDER_BASE_URLS.openai} (type openai), ${PROVIDER_BASE_URLS.anthropic} (type anthropic: no /v1)`;
}

/**
 * An issue as a message that says what is wrong and how to fix it (zod's own, "Invalid input: expected number,
 * received string", said neither). `root` is the substituted document the issue is about.
 */
function issueMessage(issue: z.core.$ZodIssue, root: unknown, fromEnv: ReadonlySet<string>): string {
  const value = valueAt(root, issue.path);
  const isBaseUrl = issue.path.length === 3 && issue.path[0] === 'providers' && issue.path[2] === 'baseUrl';
  if (value === MISSING && issue.code === 'invalid_type') {
    const key = String(issue.path.at(-1));
    if (isBaseUrl) return `missing: every provider needs its API's base URL. Fix: add baseUrl, ${baseUrlExample(root, issue.path)}`;
    return `missing: ${key} is required here. Fix: add \`${key}:\` (see schema/goodhart.schema.json)`;
  }
  if (isBaseUrl) return `${issue.message}, not ${describeValue(value)}. Fix: write the provider's API address, ${baseUrlExample(root, issue.path)}`;
  if (issue.code === 'invalid_key') {
    // A key of a mapping of ids (providers, routing.teams…): zod said only "Invalid key in record".
    const why = issue.issues[0]?.message ?? 'not a valid id';
    return `"${String(issue.path.at(-1))}" cannot be an id here: ${why}. Fix: rename it`;
  }
  if (issue.code === 'invalid_union') return unionMessage(issue, value, fromEnv.has(formatPath(issue.path)));
  if (issue.code !== 'invalid_type') return issue.message;
  const words = TYPE_WORDS[issue.expected] ?? { want: issue.expected, fix: 'see schema/goodhart.schema.json' };
  // A value from ${…}: the fix is in the environment, not the file.
  const fix = fromEnv.has(formatPath(issue.path)) ? `the value comes from \${…}: set that variable (or its :-default) to ${words.want}` : words.fix;
  return `expected ${words.want}, got ${describeValue(value)}. Fix: ${fix}`;
}

/**
 * A value none of a union's forms accepts (`trustProxy: "true"`: true/false or a list of addresses), said as those
 * forms (zod said "Invalid input"). Text that reads as true/false or a number was likely meant without quotes.
 */
function unionMessage(issue: z.core.$ZodIssueInvalidUnion, value: unknown, fromEnv: boolean): string {
  const wants: string[] = [];
  for (const branch of issue.errors) {
    for (const sub of branch) {
      if (sub.path.length !== 0 || sub.code !== 'invalid_type') continue;
      const want = TYPE_WORDS[sub.expected]?.want ?? sub.expected;
      if (!wants.includes(want)) wants.push(want);
    }
  }
  if (wants.length === 0) return issue.message;
  const either = wants.join(', or ');
  const fix = fromEnv
    ? `the value comes from \${…}: set that variable (or its :-default) to ${either}`
    : typeof value === 'string' && /^(true|false|-?\d+(\.\d+)?)$/i.test(value.trim())
      ? `write ${value.trim().toLowerCase()} without quotes`
      : `write ${either} (see schema/goodhart.schema.json)`;
  return `expected ${either}, got ${describeValue(value)}. Fix: ${fix}`;
}

/** Zod's issues as problems; one per unknown key, at the key itself (its line, not its parent's). */
function zodProblems(issues: readonly z.core.$ZodIssue[], root: unknown, fromEnv: ReadonlySet<string>): { path: PropertyKey[]; message: string }[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key], message: `unknown key "${key}". Fix: remove it or check the spelling against schema/goodhart.schema.json` }))
      : [{ path: [...issue.path], message: issueMessage(issue, root, fromEnv) }],
  );
}

/**
 * Cross-references zod cannot see: models name existing providers; users, projects, budgets and rate limits name
 * existing teams, users, projects, roles and tiers (the admin API checks its changes with the same referenceProblems).
 */
function checkReferences(cfg: GoodhartConfig, standIns: ReadonlySet<string>): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const providers = Object.keys(cfg.providers);
  cfg.models.forEach((m, i) => {
    if (!cfg.providers[m.provider]) {
      problems.push({
        path: ['models', i, 'provider'],
        message: `provider "${m.provider}" is not declared. Fix: use one of ${providers.map((p) => `"${p}"`).join(', ') || '(none declared: add a \`providers:\` section)'}`,
      });
    }
  });
  for (const [id, p] of Object.entries(cfg.providers)) {
    if (p.usageReportIds !== undefined && p.type === 'openai-compatible') {
      problems.push({
        path: ['providers', id, 'usageReportIds'],
        message: "only OpenAI's and Anthropic's admin usage reports (goodhart import openai-usage, anthropic-usage) name the gateway's traffic by these ids. Fix: remove it, or give the provider type openai or anthropic",
      });
    }
  }
  // A provider's project is one Goodhart project: under two, its rows would go to whichever came first.
  const owner = new Map<string, string>();
  cfg.projects.forEach((p, i) =>
    (p.providerIds ?? []).forEach((pid, j) => {
      const first = owner.get(pid);
      if (first !== undefined && first !== p.id) {
        problems.push({ path: ['projects', i, 'providerIds', j], message: `"${pid}" is already a providerId of project "${first}". Fix: keep it under one project` });
      }
      owner.set(pid, first ?? p.id);
    }),
  );
  // One entry per id in every list of them: a second one silently won (a model's price) or lost (a user's team),
  // or shared the first's state (two rate limits of one id counted in one window: each had half its limit). Maps
  // (providers, tiers, roles, routing) cannot hold a key twice: the YAML parser refuses that (uniqueKeys).
  const once = <T>(list: readonly T[], at: string | string[], idOf: (x: T) => string, what: string, fix = 'keep one entry') => {
    const seen = new Set<string>();
    list.forEach((x, i) => {
      const id = idOf(x);
      if (seen.has(id)) problems.push({ path: [...[at].flat(), i], message: `${what} "${id}" is declared twice. Fix: ${fix}` });
      seen.add(id);
    });
  };
  once(cfg.teams, 'teams', (t) => t.id, 'team');
  once(cfg.users, 'users', (u) => u.id, 'user');
  once(cfg.projects, 'projects', (p) => p.id, 'project');
  once(cfg.models, 'models', (m) => m.name, 'model');
  once(cfg.budgets, 'budgets', (b) => b.id, 'budget id', 'give each budget its own id (its spend and alerts are kept by id)');
  once(cfg.rateLimits, 'rateLimits', (r) => r.id, 'rate limit id', 'give each rate limit its own id (its counters are kept by id: two of one id share them)');
  once(cfg.admin.keys, ['admin', 'keys'], (k) => k.id, 'admin key id', 'give each admin key its own id (the audit log names the key by it)');
  // One admin key listed twice (two ids, two roles) authenticated as whichever came last. A key a read command does
  // not need (an unset variable: a stand-in) is not compared.
  const keyAt = new Map<string, number>();
  cfg.admin.keys.forEach((k, i) => {
    if (standIns.has(`admin.keys[${i}].key`) || standIns.has(`admin.keys[${i}].sha256`)) return;
    const hash = k.sha256 ?? hashKey(k.key!);
    const first = keyAt.get(hash);
    if (first === undefined) keyAt.set(hash, i);
    else {
      const other = cfg.admin.keys[first]!;
      problems.push({
        path: ['admin', 'keys', i],
        message: `admin key "${k.id}" is the same key as admin.keys[${first}] ("${other.id}", role ${other.role}), so one of the two roles would never apply. Fix: keep one entry, or give this one a key of its own`,
      });
    }
  });
  problems.push(...referenceProblems(new Directory(cfg).refs(), 'config'));
  // Routing modes for a team or project the config does not declare (a typo) would never apply either.
  const declared = { team: new Set(cfg.teams.map((t) => t.id)), project: new Set(cfg.projects.map((p) => p.id)) };
  for (const kind of ['team', 'project'] as const) {
    const known = declared[kind];
    if (known.size === 0) continue;
    for (const id of Object.keys(cfg.routing[`${kind}s`])) {
      if (known.has(id)) continue;
      problems.push({
        path: ['routing', `${kind}s`, id],
        message: `${kind} "${id}" is not declared under \`${kind}s:\`, so this mode would never apply.${didYouMean(id, known)} Fix: use one of ${[...known].slice(0, 10).join(', ')}, or declare it`,
      });
    }
  }
  return problems;
}

/**
 * Prices are USD per million tokens. The cheapest models listed anywhere cost a few cents per million; none costs
 * less than a thousandth of a dollar (0.001), which is what a price per token (2.5e-6 for $2.50 a million) or per
 * thousand tokens looks like here: every request would be booked a million (or a thousand) times too cheap, and
 * budgets would never trip. At the other end, the dearest cost a few hundred dollars per million; 10,000 is a price
 * per billion, or a typo. Zero is a price (a free local model).
 */
const PRICE_PLAUSIBLE = { min: 0.001, max: 10_000 } as const;
const PRICE_FIELDS = ['input', 'output', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h'] as const;

/** Prices that are almost certainly in the wrong unit (PRICE_PLAUSIBLE): warned about, not refused. */
function priceWarnings(cfg: GoodhartConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  cfg.models.forEach((m, i) => {
    for (const field of PRICE_FIELDS) {
      const v = m.price?.[field];
      if (v === undefined || v === 0) continue;
      if (v < PRICE_PLAUSIBLE.min) {
        const perMillion = Number((v * 1_000_000).toPrecision(6));
        out.push({
          path: ['models', i, 'price', field],
          message: `${v} is implausibly small: prices are USD per million tokens, so this books ${m.name} at $${v} per million tokens. A price per token of ${v} is ${perMillion} per million; write that`,
        });
      } else if (v > PRICE_PLAUSIBLE.max) {
        out.push({
          path: ['models', i, 'price', field],
          message: `${v} is implausibly large: prices are USD per million tokens, so this books ${m.name} at $${v} per million tokens. Check the unit (per million, not per billion)`,
        });
      }
    }
  });
  return out;
}

/**
 * Providers whose apiKey is empty once substituted (`${OPENAI_API_KEY:-}`, as `goodhart init` writes it, with the
 * variable unset): every request to them goes without a key and gets the provider's 401, which clients read as their
 * own key being wrong. A warning, not an error: a provider nobody uses, or a local server that needs no key, is fine.
 */
function emptyKeyWarnings(raw: unknown, cfg: GoodhartConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const [id, p] of Object.entries(cfg.providers)) {
    if (p.apiKey !== '') continue;
    const written = valueAt(raw, ['providers', id, 'apiKey']);
    const names = typeof written === 'string' ? [...written.matchAll(ENV_REF)].filter((m) => !m[1]).map((m) => m[2]!) : [];
    const fix = names.length > 0 ? `export ${names[0]}=… before starting` : 'write the key (as ${VARIABLE}) there';
    out.push({
      path: ['providers', id, 'apiKey'],
      message: `empty${names.length > 0 ? ` (${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} not set)` : ''}, so requests to provider "${id}" go without a key and it will answer 401. Fix: ${fix}, or remove apiKey if this server needs no key`,
    });
  }
  return out;
}

const warnOnStderr = (message: string): void => {
  process.stderr.write(`goodhart: ${message}\n`);
};

/**
 * Parses and validates config text. Errors name the file, the path inside it, the line, and the fix. `use`: see
 * ConfigUse. `checks` run on a config that passed every other check (they may rely on its references). `warn` is told
 * what loads but is almost certainly a mistake (a price in the wrong unit), with the file, path and line.
 */
export function parseConfig(
  text: string,
  file: string,
  env: Env = process.env,
  use: ConfigUse = 'serve',
  checks: readonly ConfigCheck[] = [],
  warn: (message: string) => void = warnOnStderr,
): GoodhartConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    if (e.code === 'MULTIPLE_DOCS') {
      const line = e.linePos?.[0]?.line;
      throw new GoodhartError(
        'config_invalid',
        500,
        `${file}: more than one YAML document (a \`---\` line${line ? ` at line ${line}` : ''} starts another): a config file holds one. Fix: remove the \`---\` and merge what follows into one document, or keep each in its own file.`,
      );
    }
    throw new GoodhartError('config_invalid', 500, `${file}: YAML syntax error: ${e.message}`);
  }
  const fromEnv = new Set<string>();
  let js: unknown;
  try {
    js = doc.toJS();
  } catch (err) {
    // The yaml library refuses documents whose aliases would expand past a bound ("billion laughs").
    throw new GoodhartError('config_invalid', 500, `${file}: YAML error: ${err instanceof Error ? err.message : String(err)}. Fix: use fewer aliases (*name); write the values out.`);
  }
  const standIns = new Set<string>();
  const substituted = substituteDeep(js ?? {}, env, '', file, fromEnv, use, standIns);
  let result = configSchema.safeParse(substituted);
  // A union may only report the next level's types once these parse: a few rounds at most.
  for (let round = 0; round < 4 && !result.success && typeSubstituted(substituted, result.error.issues, fromEnv); round++) {
    result = configSchema.safeParse(substituted);
  }
  const problems: ConfigProblem[] = [
    ...bareReferences(js),
    ...brokenReferences(js),
    ...(result.success
      ? checkReferences(result.data, standIns).map((p) => ({ path: p.path as PropertyKey[], message: p.message }))
      : zodProblems(result.error.issues, substituted, fromEnv)),
  ];
  if (problems.length === 0 && result.success) for (const check of checks) problems.push(...check(result.data as GoodhartConfig));
  if (problems.length > 0) throw configInvalid(problems, file, (path) => lineOf(doc, counter, path));
  const config = result.data as GoodhartConfig;
  for (const w of [...priceWarnings(config), ...(use === 'serve' ? emptyKeyWarnings(js, config) : [])]) {
    const line = lineOf(doc, counter, w.path);
    warn(`${file}: warning: ${formatPath(w.path)}${line ? ` (line ${line})` : ''}: ${w.message}.`);
  }
  return config;
}

export function loadConfigFile(
  file: string,
  env: Env = process.env,
  use: ConfigUse = 'serve',
  checks: readonly ConfigCheck[] = [],
  warn: (message: string) => void = warnOnStderr,
): GoodhartConfig {
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
  return parseConfig(text, file, env, use, checks, warn);
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
      baseUrl: env.OPENAI_BASE_URL || PROVIDER_BASE_URLS.openai,
      ...(env.OPENAI_API_KEY ? { apiKey: env.OPENAI_API_KEY } : {}),
    };
  }
  if (env.ANTHROPIC_API_KEY || env.ANTHROPIC_BASE_URL) {
    providers.anthropic = {
      type: 'anthropic',
      baseUrl: env.ANTHROPIC_BASE_URL || PROVIDER_BASE_URLS.anthropic,
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
  for (const id of ['openai', 'anthropic'] as const) {
    const provider = result.data.providers[id];
    if (provider !== undefined) markFromEnv(provider, PROVIDER_ENV[id]);
  }
  return result.data;
}

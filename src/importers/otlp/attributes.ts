import { hash } from 'node:crypto';
import { isRecord, readCount } from '../../usage/usage-fields.js';
import { MAX_STORED_TIME } from '../../store/rows.js';

/** Scalar attribute values of an OTLP `KeyValue[]` (arrays and maps are not needed and not walked). */
export type Attrs = Map<string, string | number | boolean>;

export function attrs(list: unknown): Attrs {
  const out: Attrs = new Map();
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (!isRecord(kv) || typeof kv['key'] !== 'string') continue;
    const v = scalar(kv['value']);
    if (v !== undefined) out.set(kv['key'], v);
  }
  return out;
}

/** An `AnyValue`'s scalar: string, bool, int (a decimal string in OTLP/JSON; a number is accepted too), double. */
export function scalar(value: unknown): string | number | boolean | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value['stringValue'] === 'string') return value['stringValue'];
  if (typeof value['boolValue'] === 'boolean') return value['boolValue'];
  const i = value['intValue'];
  if (typeof i === 'string' && /^-?\d+$/.test(i)) return Number(i);
  if (typeof i === 'number' && Number.isFinite(i)) return i;
  const d = value['doubleValue'];
  if (typeof d === 'number' && Number.isFinite(d)) return d;
  if (typeof d === 'string' && d.trim() !== '' && Number.isFinite(Number(d))) return Number(d);
  return undefined;
}

export const attrString = (a: Attrs, ...keys: string[]): string | null => {
  for (const k of keys) {
    const v = a.get(k);
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number') return String(v);
  }
  return null;
};

/** A token count attribute (Claude Code sends some counts as strings). */
export const attrCount = (a: Attrs, ...keys: string[]): number | undefined => {
  for (const k of keys) {
    const v = readCount(a.get(k));
    if (v !== undefined) return v;
  }
  return undefined;
};

/** The latest time the stores keep (the end of 2099), in nanoseconds: later "times" are garbage. */
const MAX_NANOS = BigInt(MAX_STORED_TIME) * 1_000_000n;

/** A unix-nanosecond time (decimal string or number) as a decimal string, or null (also beyond MAX_NANOS). */
export function nanos(value: unknown): string | null {
  let digits: string | null = null;
  if (typeof value === 'string' && /^\d+$/.test(value)) digits = value.replace(/^0+(?=\d)/, '');
  else if (typeof value === 'number' && Number.isFinite(value) && value >= 0) digits = BigInt(Math.round(value)).toString();
  return digits !== null && BigInt(digits) <= MAX_NANOS ? digits : null;
}

export const nanosToMs = (ns: string): number => Number(BigInt(ns) / 1_000_000n);

/** A stable string of attributes for series identity: sorted `key=value` pairs. */
export function attrsKey(a: Attrs, skip: ReadonlySet<string> = new Set()): string {
  return [...a.entries()]
    .filter(([k]) => !skip.has(k))
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\u0001');
}

/**
 * A resource's short name (a hash of its attributes): its GenAI span events carry it as the tag `otel.resource=…`, so
 * its token histogram's intervals find the spans that describe some of the same requests (`resourceTag`).
 */
export function resourceId(resourceKey: string): string {
  return hash('sha256', resourceKey, 'hex').slice(0, 16);
}

export const resourceTag = (id: string): string => `otel.resource=${id}`;

/** The catalogue provider id of a GenAI `gen_ai.provider.name` / `gen_ai.system` value. */
export function catalogueProvider(name: string | null): string {
  switch (name) {
    case null:
      return 'unknown';
    case 'aws.bedrock':
      return 'aws';
    case 'gcp.vertex_ai':
    case 'gcp.gemini':
    case 'gcp.gen_ai':
    case 'gemini':
    case 'vertex_ai':
      return 'google';
    case 'azure.ai.openai':
    case 'az.ai.openai':
    case 'azure.ai.inference':
      return 'azure';
    default:
      return name;
  }
}

/** Who a resource (and its record) belongs to, from the standard and Claude Code attributes. */
export function identityOf(resource: Attrs, record: Attrs = new Map()) {
  const get = (...keys: string[]) => attrString(record, ...keys) ?? attrString(resource, ...keys);
  return {
    email: get('user.email', 'enduser.email'),
    account: get('user.account_uuid', 'user.id', 'enduser.id'),
    team: get('team.id'),
    session: get('session.id', 'gen_ai.conversation.id'),
  };
}

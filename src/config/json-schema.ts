import { z } from 'zod';
import { configSchema } from './schema.js';

/**
 * Text the loader reads as a number or true/false where the schema wants one (`port: ${PORT:-8787}`, load.ts
 * typeSubstituted): any text holding a `${NAME}` or `${NAME:-default}`. Unanchored: JSON Schema patterns match anywhere.
 */
export const ENV_REFERENCE_PATTERN = '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}';

const SCALAR_TYPES = new Set(['number', 'integer', 'boolean']);

/** Keywords that describe a field rather than constrain its value: kept on the outside of the anyOf. */
const ANNOTATIONS = new Set(['default', 'description', 'title', 'examples', 'deprecated']);

/** Every number, whole number or true/false in the schema also accepts a `${…}` string, as the loader does. */
function acceptReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(acceptReferences);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'default' || k === 'const' || k === 'enum' ? v : acceptReferences(v);
  const types = Array.isArray(out['type']) ? (out['type'] as unknown[]) : [out['type']];
  if (!types.some((t) => typeof t === 'string' && SCALAR_TYPES.has(t))) return out;
  const outer: Record<string, unknown> = {};
  const value: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) (ANNOTATIONS.has(k) ? outer : value)[k] = v;
  return {
    ...outer,
    anyOf: [value, { type: 'string', pattern: ENV_REFERENCE_PATTERN, description: 'A ${VAR} or ${VAR:-default}, read as this value when the config is loaded' }],
  };
}

/** The published JSON Schema of goodhart.yaml (editors validate and complete with it). Generated, never hand-edited. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...(acceptReferences(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' })) as Record<string, unknown>),
    title: 'Goodhart configuration (goodhart.yaml)',
  };
}

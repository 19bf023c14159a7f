/**
 * RFC 7396 JSON merge patch, pure: each field of `patch` replaces the target's, `null` removes it, and an object
 * merges into the target's object of the same key (arrays and other values are replaced whole).
 *
 * Every key is data, `__proto__` too (JSON.parse makes it an own key): it is read and written as an own property,
 * never through the prototype, so `{"__proto__": {"role": "admin"}}` is a field the schema refuses by name instead
 * of a prototype whose fields a schema would read as the entity's (and the patch answered 200 as if it were fine).
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else Object.defineProperty(out, key, { value: mergePatch(Object.hasOwn(out, key) ? out[key] : undefined, value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

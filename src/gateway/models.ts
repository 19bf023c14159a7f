import type { GoodhartConfig } from '../config/schema.js';
import type { Wire } from './providers/types.js';
import type { ModelRouter } from './router.js';
import type { Upstreams } from './upstream.js';
import { VIA_HEADER } from './via.js';

interface Listed {
  id: string;
  owned_by: string;
  created: number;
}

/** Upstream model lists change rarely: refetched at most once a minute per provider. */
const CACHE_MS = 60_000;
const cache = new WeakMap<Upstreams, Map<string, { at: number; models: Listed[] }>>();

async function upstreamModels(router: ModelRouter, upstreams: Upstreams, self: string): Promise<Listed[]> {
  let perProvider = cache.get(upstreams);
  if (!perProvider) cache.set(upstreams, (perProvider = new Map()));
  const out: Listed[] = [];
  await Promise.all(
    router.list().map(async (p) => {
      const hit = perProvider.get(p.id);
      if (hit && Date.now() - hit.at < CACHE_MS) {
        out.push(...hit.models);
        return;
      }
      const path = p.adapter.paths.models;
      if (!path) return;
      try {
        const headers: Record<string, string> = { ...(p.config.headers ?? {}), ...p.adapter.upstreamHeaders(p.config.apiKey), [VIA_HEADER]: self };
        if (p.adapter.wire === 'anthropic') headers['anthropic-version'] = '2023-06-01';
        const res = await upstreams.request(p, path, {
          method: 'GET',
          headers,
          signal: AbortSignal.timeout(5000),
          timeoutMs: 5000,
        });
        const body = (await res.body.json()) as { data?: { id?: unknown; created?: unknown; created_at?: unknown }[] };
        const models: Listed[] = [];
        if (res.statusCode < 400 && Array.isArray(body.data)) {
          for (const m of body.data) {
            if (typeof m?.id !== 'string') continue;
            const created =
              typeof m.created === 'number' ? m.created : typeof m.created_at === 'string' ? Date.parse(m.created_at) / 1000 : 0;
            models.push({ id: m.id, owned_by: p.id, created: Math.floor(created) || 0 });
          }
        }
        perProvider.set(p.id, { at: Date.now(), models });
        out.push(...models);
      } catch {
        /* a provider that cannot list its models still serves them; the list is best effort */
      }
    }),
  );
  return out;
}

/** Whether the caller may use a model (governance's tiers for their role and grants); absent: every model. */
export type ModelFilter = (model: string) => boolean;

/**
 * The models a client on `wire` can call: an OpenAI client is not offered Claude models, which it would get a 400
 * for, nor a member premium models, which they would get a 403 for.
 */
async function allModels(config: GoodhartConfig, router: ModelRouter, upstreams: Upstreams, self: string, wire: Wire, allowed?: ModelFilter): Promise<Listed[]> {
  const seen = new Map<string, Listed>();
  for (const m of config.models) seen.set(m.name, { id: m.name, owned_by: m.provider, created: 0 });
  for (const m of await upstreamModels(router, upstreams, self)) if (!seen.has(m.id)) seen.set(m.id, m);
  return [...seen.values()].filter((m) => router.serves(m.id, wire) && (allowed === undefined || allowed(m.id)));
}

/** One model object in the caller's wire format. */
function modelObject(m: Listed, wire: Wire): object {
  return wire === 'anthropic'
    ? { type: 'model', id: m.id, display_name: m.id, created_at: new Date(m.created * 1000).toISOString() }
    : { id: m.id, object: 'model', created: m.created, owned_by: m.owned_by };
}

/** GET /v1/models: configured models plus what each provider lists, in the caller's wire format. */
export async function listModels(config: GoodhartConfig, router: ModelRouter, upstreams: Upstreams, wire: Wire, self: string, allowed?: ModelFilter): Promise<object> {
  const models = await allModels(config, router, upstreams, self, wire, allowed);
  const data = models.map((m) => modelObject(m, wire)) as { id: string }[];
  if (wire === 'anthropic') return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  return { object: 'list', data };
}

/**
 * GET /v1/models/{id} (the SDKs' `models.retrieve`): one model the gateway serves, or null. Whether the person may use
 * it is the route's to say (a 403 as for a request, not "not listed").
 */
export async function findModel(config: GoodhartConfig, router: ModelRouter, upstreams: Upstreams, wire: Wire, id: string, self: string): Promise<object | null> {
  const found = (await allModels(config, router, upstreams, self, wire)).find((m) => m.id === id);
  return found === undefined ? null : modelObject(found, wire);
}

import type { OutcomeKind } from '../../outcomes/event.js';
import { isRecord } from '../../usage/usage-fields.js';
import { attrString, attrs, attrsKey, catalogueProvider, identityOf, nanos, nanosToMs, type Attrs } from './attributes.js';
import { list } from './map-spans.js';
import type { MappedBatch, OtelIdentity, OtelUsage } from './types.js';

/**
 * Claude Code metrics and the GenAI token histogram → usage and outcome events, in two steps around the store:
 * 1. `extractPoints` reads every data point of the metrics this maps (sum, gauge, histogram; asInt or asDouble)
 *    with its series identity and temporality;
 * 2. the caller turns each point into an increase: a DELTA point is its own value; a CUMULATIVE point goes through
 *    the store's counter series (`commitOtel`, in the transaction that stores the events: difference from the last
 *    value, reset → full value, the last point again → its increase again; older points → 0), one series per
 *    attributes and start time (two senders with the same attributes count apart);
 * 3. `buildFromPoints` makes the events: `claude_code.token.usage` points of one model and interval become one
 *    usage event (types input/output/cacheRead/cacheCreation), priced by `claude_code.cost.usage` of the same model
 *    and interval when sent; commits, pull requests, lines of code, sessions and edit decisions become outcomes;
 *    `gen_ai.client.token.usage` points (input and output) of one resource, model and interval become one event.
 * An interval is told by its end (`timeUnixNano`). The OpenTelemetry JS SDK (Claude Code's) stamps a DELTA series
 * that is new in an interval with the time of its first recording, so one model's token types and its cost, exported
 * together, can carry different start times: they are one interval all the same (the export's), starting at the
 * earliest of them.
 * Ids come from series identity and timestamps, so a replayed DELTA batch maps to ids the store already has.
 */
export const AGGREGATION_TEMPORALITY_DELTA = 1;
export const AGGREGATION_TEMPORALITY_CUMULATIVE = 2;

const OUTCOME_METRICS: Record<string, OutcomeKind> = {
  'claude_code.commit.count': 'commit',
  'claude_code.pull_request.count': 'pull_request',
  'claude_code.lines_of_code.count': 'lines_of_code',
  'claude_code.session.count': 'session',
  'claude_code.code_edit_tool.decision': 'edit_decision',
};
const TOKEN_METRIC = 'claude_code.token.usage';
const COST_METRIC = 'claude_code.cost.usage';
/**
 * The GenAI semantic conventions' histogram of tokens per request (`gen_ai.token.type` input|output): its `sum` is
 * the tokens of the interval's requests. Instrumented SDKs also record the same requests as spans with
 * `gen_ai.usage.*`; the spans are the better record (per request, with ids and cache tokens), so points from a
 * resource whose spans carried usage are not counted (see `coveredResource`).
 */
const GENAI_TOKEN_METRIC = 'gen_ai.client.token.usage';
const GENAI_TYPE = 'gen_ai.token.type';

export interface MetricPoint {
  metric: string;
  seriesKey: string;
  /** Resource identity plus the point's attributes except its type (groups a request's token types). */
  groupKey: string;
  resourceKey: string;
  resource: Attrs;
  point: Attrs;
  startNs: string;
  timeNs: string;
  value: number;
  cumulative: boolean;
}

export function extractPoints(request: unknown): { points: MetricPoint[]; rejected: number } {
  const points: MetricPoint[] = [];
  let rejected = 0;
  for (const rm of list(request, 'resourceMetrics')) {
    const resource = attrs(isRecord(rm['resource']) ? rm['resource']['attributes'] : undefined);
    const resourceKey = attrsKey(resource);
    for (const sm of list(rm, 'scopeMetrics')) {
      for (const metric of list(sm, 'metrics')) {
        const name = typeof metric['name'] === 'string' ? metric['name'] : '';
        if (name !== TOKEN_METRIC && name !== COST_METRIC && name !== GENAI_TOKEN_METRIC && !(name in OUTCOME_METRICS)) continue;
        const data = ['sum', 'gauge', 'histogram'].map((k) => metric[k]).find(isRecord);
        if (data === undefined) {
          rejected += 1;
          continue;
        }
        // Gauges carry no temporality; a gauge of a counter is its current total, like CUMULATIVE.
        const temporality = data['aggregationTemporality'];
        const cumulative = temporality === AGGREGATION_TEMPORALITY_CUMULATIVE || temporality === 'AGGREGATION_TEMPORALITY_CUMULATIVE' || isRecord(metric['gauge']);
        for (const dp of list(data, 'dataPoints')) {
          const point = attrs(dp['attributes']);
          const value = pointValue(dp);
          const timeNs = nanos(dp['timeUnixNano']);
          const startNs = nanos(dp['startTimeUnixNano']) ?? '0';
          if (value === null || timeNs === null || value < 0) {
            rejected += 1;
            continue;
          }
          points.push({
            metric: name,
            seriesKey: `${name}\u0002${resourceKey}\u0002${attrsKey(point)}`,
            groupKey: `${resourceKey}\u0002${attrsKey(point, new Set(['type', GENAI_TYPE]))}`,
            resourceKey,
            resource,
            point,
            startNs,
            timeNs,
            value,
            cumulative,
          });
        }
      }
    }
  }
  return { points, rejected };
}

/** asInt (decimal string or number), asDouble, or a histogram's sum. */
function pointValue(dp: Record<string, unknown>): number | null {
  for (const k of ['asInt', 'asDouble', 'sum']) {
    const v = dp[k];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (Number.isFinite(n)) return n;
  }
  return null;
}

const TOKEN_TYPES = new Set(['input', 'output', 'cacheRead', 'cacheCreation']);

/**
 * Events from points whose increase is known (`increase[i]` for `points[i]`). Usage of sessions in
 * `coveredSessions` (their `api_request` log events are received, one per request) is left out: counting it here
 * too would double it; their outcomes are kept. Likewise `gen_ai.client.token.usage` of a resource in
 * `coveredResource` (its GenAI spans are received, one per request).
 */
export function buildFromPoints(
  points: readonly MetricPoint[],
  increase: readonly number[],
  coveredSessions: (session: string) => boolean,
  coveredResource: (resourceKey: string) => boolean = () => false,
): MappedBatch {
  const out: MappedBatch = { usage: [], outcomes: [], rejected: 0 };
  // By attributes and interval end. An event's key and start are known once all its points are read.
  const groups = new Map<string, UsageGroup>();
  const costs = new Map<string, { usd: number; startNs: string | null }>();
  /** The group of `groupKey`, made from its first point. */
  const groupOf = (
    groupKey: string,
    prefix: UsageGroup['prefix'],
    first: MetricPoint,
    at: number,
    sessionId: string | null,
    identity: OtelIdentity,
    what: Pick<OtelUsage, 'provider' | 'endpoint' | 'model' | 'tags'>,
  ): UsageGroup => {
    const found = groups.get(groupKey);
    if (found !== undefined) return found;
    const g: UsageGroup = {
      prefix,
      first,
      startNs: null,
      u: { key: '', at, endedAt: at, ...what, usage: emptyUsage(), reportedCostUsd: null, providerRequestId: null, sessionId, identity, errorClass: null },
    };
    groups.set(groupKey, g);
    return g;
  };
  points.forEach((p, i) => {
    const inc = increase[i] ?? 0;
    if (inc <= 0) return;
    const who = identityOf(p.resource, p.point);
    const identity: OtelIdentity = { email: who.email, account: who.account, team: who.team };
    const at = nanosToMs(p.timeNs);
    const kind = OUTCOME_METRICS[p.metric];
    if (kind !== undefined) {
      // Outcomes are per series: the series' own interval names one.
      const interval = p.cumulative ? p.timeNs : `${p.startNs}-${p.timeNs}`;
      const a: Record<string, string> = {};
      for (const [k, v] of p.point) if (['type', 'decision', 'language', 'tool_name', 'model'].includes(k)) a[k === 'tool_name' ? 'tool' : k] = String(v);
      out.outcomes.push({ key: `${p.seriesKey}\u0002${interval}`, kind, count: inc, at, sessionId: who.session, identity, attrs: a });
      return;
    }
    const groupKey = `${p.groupKey}\u0002${p.cumulative ? 'cumulative' : 'delta'}\u0002${p.timeNs}`;
    const start = p.cumulative || p.startNs === '0' ? null : p.startNs;
    if (p.metric === GENAI_TOKEN_METRIC) {
      if (coveredResource(p.resourceKey)) return;
      const type = attrString(p.point, GENAI_TYPE);
      if (type !== 'input' && type !== 'output') {
        out.rejected += 1;
        return;
      }
      const op = attrString(p.point, 'gen_ai.operation.name');
      const g = groupOf(groupKey, 'genai-metric', p, at, who.session, identity, {
        provider: catalogueProvider(attrString(p.point, 'gen_ai.provider.name', 'gen_ai.system') ?? attrString(p.resource, 'gen_ai.provider.name', 'gen_ai.system')),
        endpoint: op === 'embeddings' ? 'embeddings' : 'chat.completions',
        model: attrString(p.point, 'gen_ai.response.model', 'gen_ai.request.model'),
        tags: ['otel-metric', 'gen_ai.client.token.usage'],
      });
      g.startNs = earlier(g.startNs, start);
      const u = g.u;
      const n = Math.round(inc);
      (u.usage.raw as Record<string, number>)[type] = n;
      // The semantic conventions count input tokens with the cached ones included; the metric does not split them.
      if (type === 'input') {
        u.usage.input.total += n;
        u.usage.input.noCache += n;
      } else {
        u.usage.output.total += n;
        u.usage.output.text += n;
      }
      return;
    }
    if (who.session !== null && coveredSessions(who.session)) return;
    if (p.metric === COST_METRIC) {
      const c = costs.get(groupKey) ?? { usd: 0, startNs: null };
      c.usd += inc;
      c.startNs = earlier(c.startNs, start);
      costs.set(groupKey, c);
      return;
    }
    const type = attrString(p.point, 'type');
    if (type === null || !TOKEN_TYPES.has(type)) {
      out.rejected += 1;
      return;
    }
    const g = groupOf(groupKey, 'ccm', p, at, who.session, identity, { provider: 'anthropic', endpoint: 'messages', model: attrString(p.point, 'model'), tags: ['claude-code', 'otel-metric'] });
    g.startNs = earlier(g.startNs, start);
    const u = g.u;
    const n = Math.round(inc);
    (u.usage.raw as Record<string, number>)[type] = n;
    if (type === 'output') {
      u.usage.output.total += n;
      u.usage.output.text += n;
    } else {
      u.usage.input.total += n;
      if (type === 'input') u.usage.input.noCache += n;
      else if (type === 'cacheRead') u.usage.input.cacheRead += n;
      // Claude Code does not say which TTL; Anthropic's default is 5 minutes.
      else u.usage.input.cacheWrite5m += n;
    }
  });
  for (const [groupKey, { prefix, first, startNs, u }] of groups) {
    const cost = costs.get(groupKey);
    if (cost !== undefined) u.reportedCostUsd = cost.usd;
    // A DELTA event runs from the earliest start of its points (none sent: its end) to its end. Its key is the one
    // it had when every point carried that start, so a batch stored before maps to the same id.
    const start = earlier(startNs, cost?.startNs ?? null);
    if (!first.cumulative) u.at = nanosToMs(start ?? first.timeNs);
    u.key = `${prefix}\u0002${first.groupKey}\u0002${first.cumulative ? first.timeNs : `${start ?? '0'}-${first.timeNs}`}`;
    out.usage.push(u);
  }
  return out;
}

/** A usage event being built: the first point read for it (attributes, temporality, interval end). */
interface UsageGroup {
  prefix: 'ccm' | 'genai-metric';
  first: MetricPoint;
  /** The earliest start time of its DELTA points (null: none sent one, or CUMULATIVE). */
  startNs: string | null;
  u: OtelUsage;
}

/** The earlier of two nanosecond times (null: none). */
function earlier(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return BigInt(b) < BigInt(a) ? b : a;
}

function emptyUsage(): OtelUsage['usage'] {
  return {
    input: { total: 0, noCache: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 },
    output: { total: 0, text: 0, reasoning: 0 },
    raw: {},
  };
}

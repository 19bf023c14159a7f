import type { OutcomeKind } from '../../outcomes/event.js';
import { MAX_STORED_COST, storable } from '../../store/rows.js';
import { isRecord, MAX_COUNT } from '../../usage/usage-fields.js';
import { attrString, attrs, attrsKey, catalogueProvider, identityOf, nanos, nanosToMs, resourceId, type Attrs } from './attributes.js';
import { list } from './map-spans.js';
import { BAD_TIME, reject, type OtelIdentity, type OtelOutcome, type OtelUsage, type Rejections } from './types.js';

/**
 * Claude Code metrics and the GenAI token histogram → usage and outcome events, in steps around the store:
 * 1. `extractPoints` reads every data point of the metrics this maps (sum, gauge, histogram; asInt or asDouble)
 *    with its series identity and temporality;
 * 2. `planPoints` groups them, before their increases are known, into interval events (`claude_code.token.usage`
 *    points of one model and interval, types input/output/cacheRead/cacheCreation, with `claude_code.cost.usage` of
 *    the same model and interval; `gen_ai.client.token.usage` points, input and output, of one resource, model and
 *    interval) and outcome points (commits, pull requests, lines of code, sessions, edit decisions);
 * 3. the caller turns each point into an increase: a DELTA point is its own value; a CUMULATIVE point goes through
 *    the store's counter series (`commitOtel`, in the transaction that stores the events: difference from the last
 *    value, reset → full value, the last point again → its increase again; older points → 0), one series per
 *    attributes and start time (two senders with the same attributes count apart);
 * 4. in that transaction each interval's points are added to what the interval held already (intervals.ts: each
 *    point once, so a split export adds up and a replay adds nothing) and its event is made again; `outcomesOf`
 *    makes the outcomes.
 * An interval is told by its end (`timeUnixNano`). The OpenTelemetry JS SDK (Claude Code's) stamps a DELTA series
 * that is new in an interval with the time of its first recording, so one model's token types and its cost, exported
 * together, can carry different start times: they are one interval all the same (the export's), starting at the
 * earliest of them.
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
 * the tokens of all the interval's requests. Instrumented SDKs also record requests as spans with `gen_ai.usage.*`,
 * the better record (per request, with ids and cache tokens), but spans are sampled and the histogram is not: the
 * interval's event is what the histogram counts beyond the spans of its resource, model and window (intervals.ts).
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

export function extractPoints(request: unknown): { points: MetricPoint[]; rejected: Rejections } {
  const points: MetricPoint[] = [];
  const rejected: Rejections = {};
  for (const rm of list(request, 'resourceMetrics')) {
    const resource = attrs(isRecord(rm['resource']) ? rm['resource']['attributes'] : undefined);
    const resourceKey = attrsKey(resource);
    for (const sm of list(rm, 'scopeMetrics')) {
      for (const metric of list(sm, 'metrics')) {
        const name = typeof metric['name'] === 'string' ? metric['name'] : '';
        if (name !== TOKEN_METRIC && name !== COST_METRIC && name !== GENAI_TOKEN_METRIC && !(name in OUTCOME_METRICS)) continue;
        const data = ['sum', 'gauge', 'histogram'].map((k) => metric[k]).find(isRecord);
        if (data === undefined) {
          reject(rejected, `${name} metric without sum, gauge or histogram data`);
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
          if (value === null || timeNs === null || value < 0 || value > maxValueOf(name)) {
            reject(
              rejected,
              timeNs === null
                ? `${name} data point without timeUnixNano (${BAD_TIME})`
                : `${name} data point whose value is not ${name === COST_METRIC ? 'a cost (asDouble from 0 to 1e9 USD)' : 'a count (asInt or asDouble from 0 to 1e12)'}`,
            );
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

/**
 * The most a point may hold: a count (tokens, commits, lines) past MAX_COUNT is garbage, as every usage reader takes it
 * (readCount, and the log records here), and so is a cost past what the store keeps. Such a point is rejected; it was
 * stored clamped, one point of 1e300 an event of a trillion tokens and a billion dollars in the organisation's spend.
 */
const maxValueOf = (metric: string): number => (metric === COST_METRIC ? MAX_STORED_COST : MAX_COUNT);

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
 * The usage event of one interval, being planned: which points it is made of. Its id is known before the points'
 * increases are (the store reads what the interval holds already by it); its start once they are.
 */
export interface IntervalGroup {
  /** The event's key (`OtelUsage.key`): its id is `stableId('otel', key)`. */
  key: string;
  kind: 'ccm' | 'genai-metric';
  cumulative: boolean;
  /** The interval's end, which tells it (unix ns). */
  timeNs: string;
  /** Its points (indexes into the request's points) and what each counts: a token type, or `cost`. */
  members: { index: number; type: string }[];
  /** What the event says besides its usage and times, from its first point. */
  what: Pick<OtelUsage, 'provider' | 'endpoint' | 'model' | 'tags' | 'sessionId' | 'identity'>;
  /**
   * A GenAI histogram's interval: the resource (`resourceId`), model and endpoint whose spans describe some of its
   * requests (its event is what they leave over). Absent for Claude Code's, and for a histogram without a model.
   */
  spans?: { resource: string; model: string; endpoint: string };
}

/**
 * The request's points planned into interval events and outcome points, before their increases are known. Usage of
 * sessions in `coveredSessions` (their `api_request` log events are received, one per request) is left out:
 * counting it here too would double it; their outcomes are kept.
 */
export function planPoints(points: readonly MetricPoint[], coveredSessions: (session: string) => boolean): { groups: IntervalGroup[]; outcomePoints: number[]; rejected: Rejections } {
  const groups = new Map<string, IntervalGroup>();
  const outcomePoints: number[] = [];
  const rejected: Rejections = {};
  const join = (key: string, p: MetricPoint, index: number, type: string, make: () => Omit<IntervalGroup, 'key' | 'cumulative' | 'timeNs' | 'members'>): void => {
    // One event per interval end, whatever start each series carries (see above).
    const full = `${key}\u0002${p.cumulative ? p.timeNs : `delta\u0002${p.timeNs}`}`;
    let g = groups.get(full);
    if (g === undefined) {
      g = { key: full, cumulative: p.cumulative, timeNs: p.timeNs, members: [], ...make() };
      groups.set(full, g);
    }
    g.members.push({ index, type });
  };
  points.forEach((p, i) => {
    if (p.metric in OUTCOME_METRICS) {
      outcomePoints.push(i);
      return;
    }
    const who = identityOf(p.resource, p.point);
    const identity: OtelIdentity = { email: who.email, account: who.account, team: who.team };
    if (p.metric === GENAI_TOKEN_METRIC) {
      const type = attrString(p.point, GENAI_TYPE);
      if (type !== 'input' && type !== 'output') {
        reject(rejected, `${GENAI_TOKEN_METRIC} data point whose ${GENAI_TYPE} is not input or output`);
        return;
      }
      const op = attrString(p.point, 'gen_ai.operation.name');
      const endpoint = op === 'embeddings' ? 'embeddings' : 'chat.completions';
      const model = attrString(p.point, 'gen_ai.response.model', 'gen_ai.request.model');
      const resource = resourceId(p.resourceKey);
      // One event per resource, model and endpoint: the spans it is matched with are told by those (series that differ
      // in other attributes, a server port or an error type, share them).
      join(`genai-metric\u0002${resource}\u0002${model ?? ''}\u0002${endpoint}`, p, i, type, () => ({
        kind: 'genai-metric',
        what: {
          provider: catalogueProvider(attrString(p.point, 'gen_ai.provider.name', 'gen_ai.system') ?? attrString(p.resource, 'gen_ai.provider.name', 'gen_ai.system')),
          endpoint,
          model,
          tags: ['otel-metric', 'gen_ai.client.token.usage'],
          sessionId: who.session,
          identity,
        },
        // The model as its span events are stored (rows.ts), which they are matched by.
        ...(model === null ? {} : { spans: { resource, model: storable(model), endpoint } }),
      }));
      return;
    }
    if (who.session !== null && coveredSessions(who.session)) return;
    const type = p.metric === COST_METRIC ? 'cost' : attrString(p.point, 'type');
    if (type === null || (type !== 'cost' && !TOKEN_TYPES.has(type))) {
      reject(rejected, `${TOKEN_METRIC} data point whose type is not ${[...TOKEN_TYPES].join(', ')}`);
      return;
    }
    // Attributes but the type: one model's token types and its cost (which has no type) of one session.
    join(`ccm\u0002${p.groupKey}`, p, i, type, () => ({
      kind: 'ccm',
      what: { provider: 'anthropic', endpoint: 'messages', model: attrString(p.point, 'model'), tags: ['claude-code', 'otel-metric'], sessionId: who.session, identity },
    }));
  });
  return { groups: [...groups.values()], outcomePoints, rejected };
}

/** Outcome events of the planned outcome points whose increase is known (`increase[i]` for `points[i]`). */
export function outcomesOf(points: readonly MetricPoint[], increase: readonly number[], outcomePoints: readonly number[]): OtelOutcome[] {
  const out: OtelOutcome[] = [];
  for (const i of outcomePoints) {
    const p = points[i]!;
    const inc = increase[i] ?? 0;
    if (inc <= 0) continue;
    const who = identityOf(p.resource, p.point);
    // Outcomes are per series: the series' own interval names one.
    const interval = p.cumulative ? p.timeNs : `${p.startNs}-${p.timeNs}`;
    const a: Record<string, string> = {};
    for (const [k, v] of p.point) if (['type', 'decision', 'language', 'tool_name', 'model'].includes(k)) a[k === 'tool_name' ? 'tool' : k] = String(v);
    out.push({ key: `${p.seriesKey}\u0002${interval}`, kind: OUTCOME_METRICS[p.metric]!, count: inc, at: nanosToMs(p.timeNs), sessionId: who.session, identity: { email: who.email, account: who.account, team: who.team }, attrs: a });
  }
  return out;
}

import { MAX_STORED_COST, MAX_STORED_TIME } from '../../store/rows.js';
import { convertAnthropicUsage } from '../../usage/convert-anthropic-usage.js';
import { isRecord } from '../../usage/usage-fields.js';
import { attrCount, attrString, attrs, identityOf, nanos, nanosToMs, scalar } from './attributes.js';
import { list } from './map-spans.js';
import { BAD_TIME, reject, type MappedBatch } from './types.js';

/**
 * Claude Code log events → usage. `api_request` (`event.name` with or without the `claude_code.` prefix) carries
 * one API call: `model`, `input_tokens` (uncached, Anthropic's buckets), `cache_read_tokens`,
 * `cache_creation_tokens`, `output_tokens`, `cost_usd`, `duration_ms`. Other events carry no usage.
 * The sessions seen here are returned so metric points of the same sessions are not counted a second time.
 */
export function mapLogs(request: unknown): MappedBatch & { sessions: Set<string> } {
  const out: MappedBatch & { sessions: Set<string> } = { usage: [], outcomes: [], rejected: {}, sessions: new Set() };
  for (const rl of list(request, 'resourceLogs')) {
    const resource = attrs(isRecord(rl['resource']) ? rl['resource']['attributes'] : undefined);
    for (const sl of list(rl, 'scopeLogs')) {
      for (const rec of list(sl, 'logRecords')) {
        const a = attrs(rec['attributes']);
        const body = scalar(rec['body']);
        const name = (attrString(a, 'event.name') ?? (typeof rec['eventName'] === 'string' ? rec['eventName'] : null) ?? (typeof body === 'string' ? body : ''))
          .replace(/^claude_code\./, '');
        if (name !== 'api_request') continue;
        const time = nanos(rec['timeUnixNano']) ?? nanos(rec['observedTimeUnixNano']);
        const stamp = attrString(a, 'event.timestamp');
        // event.timestamp when it is a time the stores keep (1970 to 2099, as timeUnixNano is read: nanos); a year
        // 3000 or -1000 there was stored clamped to the last or first day they keep, beside a good timeUnixNano.
        const stamped = stamp === null ? Number.NaN : Date.parse(stamp);
        const at = stamped >= 0 && stamped <= MAX_STORED_TIME ? stamped : time !== null && time !== '0' ? nanosToMs(time) : null;
        const usage = convertAnthropicUsage({
          input_tokens: attrCount(a, 'input_tokens'),
          output_tokens: attrCount(a, 'output_tokens'),
          cache_read_input_tokens: attrCount(a, 'cache_read_tokens'),
          cache_creation_input_tokens: attrCount(a, 'cache_creation_tokens'),
        });
        if (at === null || usage === null) {
          reject(
            out.rejected,
            at === null
              ? `api_request without a time (timeUnixNano or observedTimeUnixNano: ${BAD_TIME}; or event.timestamp, ISO 8601)`
              : 'api_request without token counts (input_tokens, output_tokens: whole numbers from 0 to 1e12)',
          );
          continue;
        }
        const who = identityOf(resource, a);
        if (who.session !== null) out.sessions.add(who.session);
        const cost = Number(a.get('cost_usd'));
        const duration = attrCount(a, 'duration_ms') ?? 0;
        const model = attrString(a, 'model');
        out.usage.push({
          key: ['cc-log', who.session, attrString(a, 'prompt.id'), attrString(a, 'event.sequence'), time, stamp, model, usage.input.total, usage.output.total].join('\u0000'),
          at: at - duration,
          endedAt: at,
          provider: 'anthropic',
          endpoint: 'messages',
          model,
          usage,
          // A cost no request has (past what the store keeps) is not reported: the tokens are priced instead.
          reportedCostUsd: a.has('cost_usd') && Number.isFinite(cost) && cost >= 0 && cost <= MAX_STORED_COST ? cost : null,
          providerRequestId: attrString(a, 'request_id'),
          sessionId: who.session,
          identity: who,
          tags: ['claude-code', 'otel-log'],
          errorClass: null,
        });
      }
    }
  }
  return out;
}

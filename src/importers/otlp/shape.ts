import { isRecord } from '../../usage/usage-fields.js';
import type { Signal } from './proto.js';

/** Each signal's request message and its three levels of lists: per resource, per scope, the records. */
const SHAPE: Record<Signal, { message: string; levels: readonly [string, string, string] }> = {
  traces: { message: 'ExportTraceServiceRequest', levels: ['resourceSpans', 'scopeSpans', 'spans'] },
  metrics: { message: 'ExportMetricsServiceRequest', levels: ['resourceMetrics', 'scopeMetrics', 'metrics'] },
  logs: { message: 'ExportLogsServiceRequest', levels: ['resourceLogs', 'scopeLogs', 'logRecords'] },
};

/**
 * Why a parsed OTLP/JSON body is not an Export…ServiceRequest, or null when it is one as far as the receiver relies
 * on: an object whose lists, at the three levels, are arrays of objects (absent or null: empty, as proto3 JSON has
 * it). What a record holds is the mappers' to judge: they skip and count a malformed one (a partial success).
 * Written by hand rather than as a zod schema: it walks every record of batches of tens of thousands, and does
 * nothing else.
 */
export function shapeError(signal: Signal, body: unknown): string | null {
  const { message, levels } = SHAPE[signal];
  if (!isRecord(body)) return `the body is ${describe(body)}, not an ${message} object (${levels[0]}: [...])`;
  const walk = (node: Record<string, unknown>, depth: number, path: string): string | null => {
    const key = levels[depth];
    const v = key === undefined ? undefined : node[key];
    if (v === undefined || v === null) return null;
    const at = `${path}${path === '' ? '' : '.'}${key}`;
    if (!Array.isArray(v)) return `${at} is ${describe(v)}, not an array`;
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      if (!isRecord(item)) return `${at}[${i}] is ${describe(item)}, not an object`;
      const inner = walk(item, depth + 1, `${at}[${i}]`);
      if (inner !== null) return inner;
    }
    return null;
  };
  return walk(body, 0, '');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)})`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

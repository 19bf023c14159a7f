import protobuf from 'protobufjs';

/**
 * The OTLP/protobuf request messages (opentelemetry-proto v1: collector trace/metrics/logs services), as a
 * protobufjs reflection root. Only the fields the receiver reads are declared: protobuf decoding skips unknown
 * fields, so a request with more (exemplars, links, exponential histograms, profiles…) decodes fine. Field names are
 * OTLP/JSON's lowerCamelCase, so a decoded protobuf request has the same shape as a JSON one.
 * Field numbers follow opentelemetry/proto/{common,resource,trace,metrics,logs}/v1 and collector/*\/v1.
 */
const f = (type: string, id: number, rule?: 'repeated') => (rule ? { type, id, rule } : { type, id });

const DESCRIPTOR = {
  nested: {
    otlp: {
      nested: {
        AnyValue: {
          oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
          fields: {
            stringValue: f('string', 1),
            boolValue: f('bool', 2),
            intValue: f('int64', 3),
            doubleValue: f('double', 4),
            arrayValue: f('ArrayValue', 5),
            kvlistValue: f('KeyValueList', 6),
            bytesValue: f('bytes', 7),
          },
        },
        ArrayValue: { fields: { values: f('AnyValue', 1, 'repeated') } },
        KeyValueList: { fields: { values: f('KeyValue', 1, 'repeated') } },
        KeyValue: { fields: { key: f('string', 1), value: f('AnyValue', 2) } },
        InstrumentationScope: { fields: { name: f('string', 1), version: f('string', 2), attributes: f('KeyValue', 3, 'repeated') } },
        Resource: { fields: { attributes: f('KeyValue', 1, 'repeated') } },

        ExportTraceServiceRequest: { fields: { resourceSpans: f('ResourceSpans', 1, 'repeated') } },
        ResourceSpans: { fields: { resource: f('Resource', 1), scopeSpans: f('ScopeSpans', 2, 'repeated') } },
        ScopeSpans: { fields: { scope: f('InstrumentationScope', 1), spans: f('Span', 2, 'repeated') } },
        Span: {
          fields: {
            traceId: f('bytes', 1),
            spanId: f('bytes', 2),
            parentSpanId: f('bytes', 4),
            name: f('string', 5),
            kind: f('int32', 6),
            startTimeUnixNano: f('fixed64', 7),
            endTimeUnixNano: f('fixed64', 8),
            attributes: f('KeyValue', 9, 'repeated'),
            status: f('Status', 15),
          },
        },
        Status: { fields: { message: f('string', 2), code: f('int32', 3) } },

        ExportMetricsServiceRequest: { fields: { resourceMetrics: f('ResourceMetrics', 1, 'repeated') } },
        ResourceMetrics: { fields: { resource: f('Resource', 1), scopeMetrics: f('ScopeMetrics', 2, 'repeated') } },
        ScopeMetrics: { fields: { scope: f('InstrumentationScope', 1), metrics: f('Metric', 2, 'repeated') } },
        Metric: {
          oneofs: { data: { oneof: ['gauge', 'sum', 'histogram'] } },
          fields: {
            name: f('string', 1),
            description: f('string', 2),
            unit: f('string', 3),
            gauge: f('Gauge', 5),
            sum: f('Sum', 7),
            histogram: f('Histogram', 9),
          },
        },
        Gauge: { fields: { dataPoints: f('NumberDataPoint', 1, 'repeated') } },
        Sum: { fields: { dataPoints: f('NumberDataPoint', 1, 'repeated'), aggregationTemporality: f('int32', 2), isMonotonic: f('bool', 3) } },
        Histogram: { fields: { dataPoints: f('HistogramDataPoint', 1, 'repeated'), aggregationTemporality: f('int32', 2) } },
        NumberDataPoint: {
          oneofs: { value: { oneof: ['asDouble', 'asInt'] } },
          fields: {
            startTimeUnixNano: f('fixed64', 2),
            timeUnixNano: f('fixed64', 3),
            asDouble: f('double', 4),
            asInt: f('sfixed64', 6),
            attributes: f('KeyValue', 7, 'repeated'),
          },
        },
        HistogramDataPoint: {
          fields: {
            startTimeUnixNano: f('fixed64', 2),
            timeUnixNano: f('fixed64', 3),
            count: f('fixed64', 4),
            sum: f('double', 5),
            attributes: f('KeyValue', 9, 'repeated'),
          },
        },

        ExportLogsServiceRequest: { fields: { resourceLogs: f('ResourceLogs', 1, 'repeated') } },
        ResourceLogs: { fields: { resource: f('Resource', 1), scopeLogs: f('ScopeLogs', 2, 'repeated') } },
        ScopeLogs: { fields: { scope: f('InstrumentationScope', 1), logRecords: f('LogRecord', 2, 'repeated') } },
        LogRecord: {
          fields: {
            timeUnixNano: f('fixed64', 1),
            severityNumber: f('int32', 2),
            severityText: f('string', 3),
            body: f('AnyValue', 5),
            attributes: f('KeyValue', 6, 'repeated'),
            traceId: f('bytes', 9),
            spanId: f('bytes', 10),
            observedTimeUnixNano: f('fixed64', 11),
            eventName: f('string', 12),
          },
        },

        // The success responses: empty, or a partial success saying how many items were rejected and why.
        ExportTraceServiceResponse: { fields: { partialSuccess: f('ExportTracePartialSuccess', 1) } },
        ExportTracePartialSuccess: { fields: { rejectedSpans: f('int64', 1), errorMessage: f('string', 2) } },
        ExportMetricsServiceResponse: { fields: { partialSuccess: f('ExportMetricsPartialSuccess', 1) } },
        ExportMetricsPartialSuccess: { fields: { rejectedDataPoints: f('int64', 1), errorMessage: f('string', 2) } },
        ExportLogsServiceResponse: { fields: { partialSuccess: f('ExportLogsPartialSuccess', 1) } },
        ExportLogsPartialSuccess: { fields: { rejectedLogRecords: f('int64', 1), errorMessage: f('string', 2) } },

        // google.rpc.Status: the body of every OTLP/HTTP error response (its `details` are not sent).
        RpcStatus: { fields: { code: f('int32', 1), message: f('string', 2) } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(DESCRIPTOR);

export const OTLP_MESSAGES = {
  traces: root.lookupType('otlp.ExportTraceServiceRequest'),
  metrics: root.lookupType('otlp.ExportMetricsServiceRequest'),
  logs: root.lookupType('otlp.ExportLogsServiceRequest'),
} as const;

export type Signal = keyof typeof OTLP_MESSAGES;

const RPC_STATUS = root.lookupType('otlp.RpcStatus');

const RESPONSES = {
  traces: { type: root.lookupType('otlp.ExportTraceServiceResponse'), field: 'rejectedSpans' },
  metrics: { type: root.lookupType('otlp.ExportMetricsServiceResponse'), field: 'rejectedDataPoints' },
  logs: { type: root.lookupType('otlp.ExportLogsServiceResponse'), field: 'rejectedLogRecords' },
} as const satisfies Record<Signal, { type: protobuf.Type; field: string }>;

/**
 * An Export*ServiceResponse as OTLP/JSON has it: `{}` on full success, else `partialSuccess` with the count of
 * rejected items (an int64, so a decimal string) and why. The spec's MUST for a server that rejects some items.
 */
export function exportResponse(signal: Signal, rejected: number, errorMessage: string): Record<string, unknown> {
  return rejected > 0 ? { partialSuccess: { [RESPONSES[signal].field]: String(rejected), errorMessage } } : {};
}

/** The same as protobuf: empty bytes on full success. */
export function encodeExportResponse(signal: Signal, rejected: number, errorMessage: string): Uint8Array {
  const { type } = RESPONSES[signal];
  return type.encode(type.fromObject(exportResponse(signal, rejected, errorMessage))).finish();
}

/** A google.rpc.Status as protobuf (OTLP/HTTP's error body for a protobuf request). */
export function encodeStatus(status: { code: number; message: string }): Uint8Array {
  return RPC_STATUS.encode(RPC_STATUS.fromObject(status)).finish();
}

/** A google.rpc.Status from protobuf (tests, as an exporter reads it). */
export function decodeStatus(bytes: Uint8Array): { code: number; message: string } {
  const o = RPC_STATUS.toObject(RPC_STATUS.decode(bytes), { defaults: true }) as { code: number; message: string };
  return { code: o.code, message: o.message };
}

/**
 * A protobuf request as OTLP/JSON would have it: 64-bit integers as decimal strings, ids as hex, other bytes
 * as base64. Throws on bytes that are not a valid message.
 */
export function decodeProtobuf(signal: Signal, bytes: Uint8Array): unknown {
  const type = OTLP_MESSAGES[signal];
  const message = type.decode(bytes);
  const obj = type.toObject(message, { longs: String, bytes: String, enums: Number, defaults: false, oneofs: false });
  hexIds(obj);
  return obj;
}

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** protobufjs gives bytes as base64; OTLP/JSON carries trace and span ids as hex. */
function hexIds(node: unknown): void {
  if (Array.isArray(node)) {
    for (const v of node) hexIds(v);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const rec = node as Record<string, unknown>;
  for (const [k, v] of Object.entries(rec)) {
    if (ID_KEYS.has(k) && typeof v === 'string') rec[k] = Buffer.from(v, 'base64').toString('hex');
    else if (typeof v === 'object') hexIds(v);
  }
}

/** Encodes an OTLP/JSON-shaped request as protobuf (tests, and clients in examples). Ids must be hex. */
export function encodeProtobuf(signal: Signal, json: unknown): Uint8Array {
  const type = OTLP_MESSAGES[signal];
  const copy = structuredClone(json) as unknown;
  const unhex = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(unhex);
    if (typeof node !== 'object' || node === null) return;
    const rec = node as Record<string, unknown>;
    for (const [k, v] of Object.entries(rec)) {
      if (ID_KEYS.has(k) && typeof v === 'string') rec[k] = Buffer.from(v, 'hex');
      else unhex(v);
    }
  };
  unhex(copy);
  return type.encode(type.fromObject(copy as Record<string, unknown>)).finish();
}

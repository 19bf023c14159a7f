/**
 * Incremental Server-Sent Events splitter for pass-through proxying.
 *
 * Network chunks arrive cut anywhere; `push` returns the complete events found so far (raw text of each event,
 * separator included, so it can be forwarded byte for byte) and keeps the incomplete tail for the next chunk.
 * Events are separated by a blank line: "\n\n" (or "\r\n\r\n", which providers don't send but proxies might).
 */
export interface SseEvent {
  /** The event's raw text including its trailing blank line: forward it unchanged. */
  raw: string;
  /** The `event:` field, or '' when absent. */
  event: string;
  /** The `data:` lines joined with "\n" (per the SSE spec), or '' when absent. */
  data: string;
}

export class SseSplitter {
  private tail = '';
  /** Bound on an incomplete event, so a hostile upstream cannot grow memory without end. 8 MiB > any real event. */
  static readonly MAX_EVENT_BYTES = 8 * 1024 * 1024;

  push(chunk: string): SseEvent[] {
    const text = this.tail.length > 0 ? this.tail + chunk : chunk;
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const sep = findSeparator(text, start);
      if (sep === -1) break;
      const end = sep + (text.charCodeAt(sep) === 13 ? 4 : 2);
      events.push(parseEvent(text.slice(start, end)));
      start = end;
    }
    this.tail = start === 0 ? text : text.slice(start);
    if (this.tail.length > SseSplitter.MAX_EVENT_BYTES) {
      throw new Error(`upstream sent an SSE event larger than ${SseSplitter.MAX_EVENT_BYTES} bytes`);
    }
    return events;
  }

  /** Whatever is left when the stream ends (an upstream that died mid-event). */
  rest(): string {
    const r = this.tail;
    this.tail = '';
    return r;
  }
}

function findSeparator(text: string, from: number): number {
  const lf = text.indexOf('\n\n', from);
  const crlf = text.indexOf('\r\n\r\n', from);
  if (crlf === -1) return lf;
  if (lf === -1) return crlf;
  return Math.min(lf, crlf);
}

export function parseEvent(raw: string): SseEvent {
  let event = '';
  let data: string | undefined;
  let pos = 0;
  while (pos < raw.length) {
    let nl = raw.indexOf('\n', pos);
    if (nl === -1) nl = raw.length;
    let line = raw.slice(pos, nl);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    pos = nl + 1;
    if (line.length === 0 || line.charCodeAt(0) === 58 /* ':' comment */) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
    else if (field === 'event') event = value;
  }
  return { raw, event, data: data ?? '' };
}

import type { IncomingHttpHeaders } from 'node:http';
import type { Transform } from 'node:stream';
import type { Dispatcher } from 'undici';
import { GoodhartError } from '../errors.js';
import { contentDecoding } from './content-decoding.js';

/** `readAll`'s refusal of a body over its limit. */
export class ResponseTooLarge extends GoodhartError {
  constructor(readonly limit: number) {
    super('upstream_error', 502, `The provider's response exceeded ${limit} bytes.`);
  }
}

/**
 * One upstream request on undici's raw dispatch API: no Readable stream, no async iterator, no AbortSignal per
 * request. Body chunks go straight to a sink (or a small buffer until one is set); the sink's caller pauses and
 * resumes the socket for backpressure. A body the provider compressed although asked not to (content-decoding.ts) goes
 * through zlib streams first: the sink sees decoded bytes, and `ended` waits for the last of them.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  status = 0;
  headers: IncomingHttpHeaders = {};
  /** A content coding the body is in that Goodhart cannot decode (the caller refuses the response), else null. */
  undecodable: string | null = null;
  /** Resolves when the response status and headers arrive; rejects if the request fails before. */
  readonly started: Promise<void>;
  /** Resolves when the body is complete; rejects if it breaks off. */
  readonly ended: Promise<void>;

  private controller: Dispatcher.DispatchController | undefined;
  private pendingAbort: Error | undefined;
  private sink: ((chunk: Buffer) => void) | undefined;
  private early: Buffer[] = [];
  private resolveStart!: () => void;
  private rejectStart!: (err: Error) => void;
  private resolveEnd!: () => void;
  private rejectEnd!: (err: Error) => void;
  private isStarted = false;
  /** The zlib streams the body goes through, first to last, when it is compressed. */
  private decoders: Transform[] | null = null;
  /** Decoding was stopped (aborted, or the body was not what its coding said): what is left goes nowhere. */
  private discarding = false;

  constructor() {
    this.started = new Promise((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    this.ended = new Promise((resolve, reject) => {
      this.resolveEnd = resolve;
      this.rejectEnd = reject;
    });
    // A rejection nobody awaits (the request failed before its body mattered) is not an unhandled error.
    this.ended.catch(() => undefined);
  }

  /** Delivers body chunks to `fn` from now on (chunks that already arrived first). */
  consume(fn: (chunk: Buffer) => void): void {
    this.sink = fn;
    const early = this.early;
    this.early = [];
    for (const c of early) fn(c);
  }

  /** The whole body, refusing more than `limit` bytes. */
  async readAll(limit: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let size = 0;
    this.consume((chunk) => {
      size += chunk.length;
      if (size > limit) {
        this.abort(new ResponseTooLarge(limit));
        return;
      }
      parts.push(chunk);
    });
    await this.ended;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * The whole body when it is at most `limit` bytes. Past that, the bytes read so far (`head`), with the call paused:
   * the rest waits for the next `consume`, so a body too large to hold can be passed on as it arrives.
   */
  readUpTo(limit: number): Promise<Buffer | { head: Buffer[] }> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let size = 0;
      let over = false;
      this.consume((chunk) => {
        // Chunks already in hand when the limit was passed wait, in order, with those still to come.
        if (over) return void this.early.push(chunk);
        parts.push(chunk);
        size += chunk.length;
        if (size > limit) {
          over = true;
          this.pause();
          this.sink = undefined;
          resolve({ head: parts });
        }
      });
      this.ended.then(
        () => {
          if (!over) resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        },
        (err: unknown) => {
          if (!over) reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  pause(): void {
    this.controller?.pause();
    this.decoders?.at(-1)!.pause();
  }
  resume(): void {
    this.controller?.resume();
    this.decoders?.at(-1)!.resume();
  }
  abort(reason: Error): void {
    // The compressed body may be all in while its decoding goes on: stop that too.
    if (this.decoders) this.stopDecoding(reason);
    if (this.controller) this.controller.abort(reason);
    else this.pendingAbort = reason;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
  }
  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.status = statusCode;
    this.headers = headers;
    this.isStarted = true;
    // Decided here, before any body chunk: undici may deliver the whole body in the same tick as the headers.
    const decoding = contentDecoding(headers['content-encoding']);
    if (decoding !== null && 'unsupported' in decoding) this.undecodable = decoding.unsupported;
    else if (decoding !== null) this.startDecoding(decoding.decoders);
    this.resolveStart();
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.decoders) this.decoders[0]!.write(chunk);
    else if (!this.discarding) this.deliver(chunk);
  }
  onResponseEnd(): void {
    if (this.decoders) this.decoders[0]!.end();
    else if (!this.discarding) this.resolveEnd();
  }
  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    if (this.decoders) this.stopDecoding(error);
    if (!this.isStarted) this.rejectStart(error);
    this.rejectEnd(error);
  }

  private deliver(chunk: Buffer): void {
    if (this.sink) this.sink(chunk);
    else this.early.push(chunk);
  }

  private startDecoding(decoders: Transform[]): void {
    this.decoders = decoders;
    for (let i = 0; i + 1 < decoders.length; i++) decoders[i]!.pipe(decoders[i + 1]!);
    const last = decoders.at(-1)!;
    last.on('data', (chunk: Buffer) => {
      // A sink that throws (an SSE event past its size bound) ends the call, as it does when undici calls it.
      try {
        this.deliver(chunk);
      } catch (err) {
        this.abort(err instanceof Error ? err : new Error(String(err)));
      }
    });
    last.on('end', () => this.resolveEnd());
    const coding = String(this.headers['content-encoding']).slice(0, 40);
    for (const d of decoders) {
      d.on('error', (err) => {
        this.abort(
          new GoodhartError(
            'upstream_error',
            502,
            `The provider's response is not valid ${coding} data, as its Content-Encoding header says (${err.message}). Operators: turn compression off at the provider or the proxy in front of it.`,
            { cause: err },
          ),
        );
      });
    }
  }

  private stopDecoding(reason: Error): void {
    const decoders = this.decoders!;
    this.decoders = null;
    this.discarding = true;
    for (const d of decoders) d.destroy();
    this.rejectEnd(reason);
  }
}

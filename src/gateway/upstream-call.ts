import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { GoodhartError } from '../errors.js';

/**
 * One upstream request on undici's raw dispatch API: no Readable stream, no async iterator, no AbortSignal per
 * request. Body chunks go straight to a sink (or a small buffer until one is set); the sink's caller pauses and
 * resumes the socket for backpressure.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  status = 0;
  headers: IncomingHttpHeaders = {};
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
        this.abort(new GoodhartError('upstream_error', 502, `The provider's response exceeded ${limit} bytes.`));
        return;
      }
      parts.push(chunk);
    });
    await this.ended;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  pause(): void {
    this.controller?.pause();
  }
  resume(): void {
    this.controller?.resume();
  }
  abort(reason: Error): void {
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
    this.resolveStart();
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.sink) this.sink(chunk);
    else this.early.push(chunk);
  }
  onResponseEnd(): void {
    this.resolveEnd();
  }
  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    if (!this.isStarted) this.rejectStart(error);
    this.rejectEnd(error);
  }
}

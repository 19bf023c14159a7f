import { brotliDecompress, gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { GoodhartError } from '../errors.js';

/** Request bodies keep their raw bytes: forwarded unchanged unless Goodhart must edit them. */
export interface JsonBody {
  raw: Buffer;
  json: unknown;
}

type Decompress = (buf: InputType, opts: ZlibOptions, cb: (err: Error | null, out: Buffer) => void) => void;
/** The request encodings HTTP clients use; decoded on libuv's thread pool, not the gateway's thread. */
const DECODERS: Record<string, Decompress> = { gzip: gunzip, 'x-gzip': gunzip, deflate: inflate, br: brotliDecompress as Decompress };

/**
 * Parses every POST body as JSON whatever its content type (curl's -d sends form-urlencoded), keeping the bytes.
 * fastify enforces `bodyLimit` while reading (413 before the whole body is in memory); a compressed body
 * (`Content-Encoding: gzip`, `deflate`, `br`) is decoded first, and held to the same limit once decoded. A UTF-8 byte
 * order mark is dropped (some Windows tools write one; JSON.parse refuses it with an invisible character).
 */
export function registerJsonBody(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, raw, done) => {
    decodeBody(req.headers['content-encoding'], raw as Buffer, bodyLimit, (err, buf) => {
      if (err !== null) return done(err, undefined);
      const body = parse(buf);
      if (body instanceof GoodhartError) done(body, undefined);
      else done(null, body);
    });
  });
}

/**
 * A request body as sent before its `Content-Encoding` (gzip, deflate, br; none), held to `bodyLimit` once decoded;
 * the error says what to send instead. For every route that reads bodies, the outcome receivers too.
 */
export function decodeBody(header: string | string[] | undefined, raw: Buffer, bodyLimit: number, done: (err: GoodhartError | null, body: Buffer) => void): void {
  const encoding = String(header ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') {
    done(null, raw);
    return;
  }
  const decode = DECODERS[encoding];
  if (decode === undefined) {
    done(new GoodhartError('invalid_request', 415, `Content-Encoding "${encoding.slice(0, 40)}" is not supported: send the body uncompressed, or gzip, deflate or br.`), raw);
    return;
  }
  decode(raw, { maxOutputLength: bodyLimit }, (err, out) => {
    if (err === null) done(null, out);
    else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      done(new GoodhartError('payload_too_large', 413, `The request body is larger than this gateway accepts (${bodyLimit} bytes) once decompressed. Send less context, or ask the operator to raise server.bodyLimitBytes.`), raw);
    } else done(new GoodhartError('invalid_request', 400, `The request body is not valid ${encoding} data (${err.message}). Send it uncompressed, or fix its Content-Encoding header.`), raw);
  });
}

function parse(buf: Buffer): JsonBody | GoodhartError {
  if (buf.length === 0) return { raw: buf, json: undefined };
  const raw = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? buf.subarray(3) : buf;
  try {
    return { raw, json: JSON.parse(raw.toString('utf8')) };
  } catch (err) {
    const detail = err instanceof SyntaxError ? err.message : 'it is nested too deeply';
    return new GoodhartError('invalid_json', 400, `The request body is not valid JSON (${detail}). Send a JSON object with Content-Type: application/json.`);
  }
}

import type { FastifyInstance } from 'fastify';
import { GoodhartError } from '../errors.js';

/** Request bodies keep their raw bytes: forwarded unchanged unless Goodhart must edit them. */
export interface JsonBody {
  raw: Buffer;
  json: unknown;
}

/**
 * Parses every POST body as JSON whatever its content type (curl's -d sends form-urlencoded), keeping the bytes.
 * fastify enforces `bodyLimit` while reading (413 before the whole body is in memory).
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, raw, done) => {
    const buf = raw as Buffer;
    if (buf.length === 0) {
      done(null, { raw: buf, json: undefined } satisfies JsonBody);
      return;
    }
    try {
      done(null, { raw: buf, json: JSON.parse(buf.toString('utf8')) } satisfies JsonBody);
    } catch (err) {
      const detail = err instanceof SyntaxError ? err.message : 'it is nested too deeply';
      done(
        new GoodhartError('invalid_json', 400, `The request body is not valid JSON (${detail}). Send a JSON object with Content-Type: application/json.`),
        undefined,
      );
    }
  });
}

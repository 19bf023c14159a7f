import type { Transform } from 'node:stream';
import { constants, createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/**
 * The gateway asks providers for `accept-encoding: identity`, but some servers and proxies in front of them compress
 * anyway. Their bodies are decoded as they arrive (zlib streams work on libuv's thread pool, not the gateway's
 * thread), so the client and the meter both read the real response.
 */
export type ContentDecoding = { decoders: Transform[] } | { unsupported: string } | null;

/** Codings applied in a row, at most: more is no real server's doing (curl and undici refuse more than 5). */
const MAX_CODINGS = 3;

/**
 * The decoders for a `content-encoding` header, in the order to apply them (the reverse of the header's); null when
 * the body is not encoded; `unsupported` names a coding Goodhart cannot decode.
 */
export function contentDecoding(header: string | string[] | undefined): ContentDecoding {
  const value = (Array.isArray(header) ? header.join(',') : (header ?? '')).toLowerCase();
  const codings = value
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0 && c !== 'identity');
  if (codings.length === 0) return null;
  if (codings.length > MAX_CODINGS) return { unsupported: value.slice(0, 60) };
  const decoders: Transform[] = [];
  for (const coding of codings.reverse()) {
    const decoder = decoderFor(coding);
    if (decoder === null) {
      for (const d of decoders) d.destroy();
      return { unsupported: coding.slice(0, 40) };
    }
    decoders.push(decoder);
  }
  return { decoders };
}

// Z_SYNC_FLUSH, as curl and undici do: each piece is decoded as it arrives (an SSE event is not held back), and a body
// whose last bytes (gzip's trailer) are missing is still read, as browsers read it.
const ZLIB = { flush: constants.Z_SYNC_FLUSH, finishFlush: constants.Z_SYNC_FLUSH };
const BROTLI = { flush: constants.BROTLI_OPERATION_FLUSH, finishFlush: constants.BROTLI_OPERATION_FLUSH };

function decoderFor(coding: string): Transform | null {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip(ZLIB);
    case 'deflate':
      return createInflate(ZLIB);
    case 'br':
      return createBrotliDecompress(BROTLI);
    default:
      return null;
  }
}

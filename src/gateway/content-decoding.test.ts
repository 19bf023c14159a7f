import { brotliCompressSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { contentDecoding } from './content-decoding.js';

async function decode(header: string, body: Buffer): Promise<string> {
  const d = contentDecoding(header);
  if (d === null || 'unsupported' in d) throw new Error('no decoders');
  const [first, ...rest] = d.decoders;
  let last = first!;
  for (const next of rest) last = last.pipe(next);
  first!.end(body);
  const out: Buffer[] = [];
  for await (const c of last) out.push(c as Buffer);
  return Buffer.concat(out).toString();
}

describe('contentDecoding', () => {
  it('is null for a body that is not encoded', () => {
    expect([contentDecoding(undefined), contentDecoding(''), contentDecoding('identity'), contentDecoding(' Identity ')]).toEqual([null, null, null, null]);
  });

  it('names a coding it cannot decode', () => {
    expect(contentDecoding('zstd')).toEqual({ unsupported: 'zstd' });
    expect(contentDecoding('gzip, compress')).toEqual({ unsupported: 'compress' });
    expect(contentDecoding('gzip,gzip,gzip,gzip')).toEqual({ unsupported: 'gzip,gzip,gzip,gzip' });
  });

  it('undoes codings in the reverse of the order the header lists them', async () => {
    expect(await decode('GZIP', gzipSync('hello'))).toBe('hello');
    expect(await decode('br, gzip', gzipSync(brotliCompressSync('layered')))).toBe('layered');
  });
});

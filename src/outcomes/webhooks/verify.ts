import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook authentication, constant-time. GitHub signs the raw body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256
 * of the body with the secret>`. GitLab sends the secret token itself in `X-Gitlab-Token`. Several secrets may be
 * configured (rotation); every one is compared, so the time taken says nothing about which matched.
 */
export function verifyGithubSignature(raw: Buffer, header: string | undefined, secrets: readonly string[]): boolean {
  if (header === undefined || !/^sha256=[0-9a-f]{64}$/i.test(header.trim())) return false;
  const given = Buffer.from(header.trim().slice(7).toLowerCase(), 'hex');
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(raw).digest();
    if (timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

/** Compares digests of the token, so unequal lengths take the same time as unequal contents. */
export function verifyToken(given: string | undefined, tokens: readonly string[]): boolean {
  if (given === undefined || given === '') return false;
  const g = createHash('sha256').update(given).digest();
  let ok = false;
  for (const t of tokens) if (timingSafeEqual(createHash('sha256').update(t).digest(), g)) ok = true;
  return ok;
}

/** What GitHub would send: for tests and for `curl` users checking their setup. */
export function signGithub(raw: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

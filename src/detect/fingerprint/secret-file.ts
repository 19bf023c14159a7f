import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The generated fingerprint secret, kept in a file of its own (mode 0600), never in the database: with the secret,
 * a prompt's stored word hashes can be inverted word by word against a dictionary, so whoever can read the database
 * must not also find the key there. Created once (32 random bytes, base64); processes racing to create it agree on
 * whichever file won (written aside, then hard-linked into place, so no reader sees half a file).
 */
export function readOrCreateSecretFile(path: string): string {
  const existing = readSecret(path);
  if (existing !== null) return existing;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    chmodSync(tmp, 0o600);
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  const secret = readSecret(path);
  if (secret === null) throw new Error(`The fingerprint key file ${path} is empty.`);
  return secret;
}

function readSecret(path: string): string | null {
  try {
    const s = readFileSync(path, 'utf8').trim();
    return s.length > 0 ? s : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Where this host keeps the generated fingerprint secret of a database (never in the database itself):
 * `GOODHART_FINGERPRINT_KEY_FILE`, else `fingerprint-<database>.key` in `$STATE_DIRECTORY` (systemd's StateDirectory=,
 * writable where the shipped unit hides home directories), else in `~/.goodhart`; named by a hash of the server,
 * database and schema (not the credentials), with `localhost` and the default port spelt one way.
 */
export function fingerprintKeyFile(location: { url: string; searchPath?: string | undefined }, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['GOODHART_FINGERPRINT_KEY_FILE'];
  if (explicit !== undefined && explicit !== '') return explicit;
  let where = location.url;
  try {
    const u = new URL(location.url);
    const host = ['localhost', '[::1]', '::1'].includes(u.hostname) ? '127.0.0.1' : u.hostname.toLowerCase();
    where = `${host}:${u.port === '5432' ? '' : u.port}${u.pathname}`;
  } catch {
    // not a URL (a connection string postgres.js reads otherwise): the whole of it
  }
  const id = createHash('sha256').update(`${where}|${location.searchPath ?? ''}`).digest('hex').slice(0, 16);
  const state = env['STATE_DIRECTORY']?.split(':')[0];
  return join(state !== undefined && state !== '' ? state : join(homedir(), '.goodhart'), `fingerprint-${id}.key`);
}

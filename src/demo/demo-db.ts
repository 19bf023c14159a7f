/**
 * The demo's database: deleted and made anew at every start, so old demo keys and traffic never pile up. It may
 * only ever delete a database it made itself, never a real store that `--db` happens to name.
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { GoodhartError } from '../errors.js';

export const DEFAULT_DEMO_DB = './.goodhart/demo.db';

/**
 * SQLite's `application_id` (a 32-bit field of the file header, at byte 68) in every database the demo makes:
 * "GHDM". The store never sets it, so a real store carries 0.
 */
export const DEMO_APPLICATION_ID = 0x4748444d;

const SQLITE_MAGIC = 'SQLite format 3\u0000';
const HEADER_BYTES = 100;

/** Whether these first bytes of a file are the header of a SQLite database the demo made. */
export function isDemoHeader(header: Buffer): boolean {
  return (
    header.length >= HEADER_BYTES &&
    header.subarray(0, SQLITE_MAGIC.length).toString('latin1') === SQLITE_MAGIC &&
    header.readUInt32BE(68) === DEMO_APPLICATION_ID
  );
}

function readHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    return buf.subarray(0, readSync(fd, buf, 0, HEADER_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

const HOW_TO = `Drop --db (the demo then uses ${DEFAULT_DEMO_DB}) or pass the path of a new file.`;

/**
 * Deletes the demo database at `location` and makes an empty one carrying the demo's mark, which the store then
 * migrates. Refuses (config_invalid) a Postgres URL and any existing file the demo did not make; the default path
 * is the demo's by name (databases of demos older than the mark carry none). The header is read as bytes: the mark
 * is written before the store turns WAL on, so it is in the main file, not only in a -wal beside it.
 */
export function resetDemoDb(location: string): void {
  if (/^postgres(ql)?:\/\//i.test(location.trim())) {
    // No URL in the message: it would carry the password.
    throw new GoodhartError(
      'config_invalid',
      500,
      `The demo deletes and recreates its database at every start, so it runs only on a SQLite file of its own, never on a Postgres database (--db postgres://…). ${HOW_TO}`,
    );
  }
  if (location === ':memory:') return;
  const path = resolve(location);
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new GoodhartError('config_invalid', 500, `${path} is a directory; --db names the demo's database file. ${HOW_TO}`);
  }
  if (existsSync(path) && path !== resolve(DEFAULT_DEMO_DB) && !isDemoHeader(readHeader(path))) {
    throw new GoodhartError(
      'config_invalid',
      500,
      `${path} is not a database the demo made, and the demo deletes and recreates its database at every start. ${HOW_TO} To serve that database, run \`goodhart serve --db ${location}\` without --demo.`,
    );
  }
  if (existsSync(path) && heldByAnother(path)) {
    throw new GoodhartError(
      'config_invalid',
      500,
      `${path} is in use by another process (a demo still running, or a gateway serving it), and the demo deletes and recreates its database at every start. Stop that process first, or give this demo a database of its own: --db ${dirname(location)}/demo-2.db.`,
    );
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma(`application_id = ${DEMO_APPLICATION_ID}`);
  } finally {
    db.close();
  }
}

/**
 * Whether another connection (another process's gateway, its writer, reader or detection thread) has the database
 * open: the gateway keeps it in WAL mode, where every open connection holds a shared lock, so an exclusive lock is
 * refused at once (SQLITE_BUSY). Deleting the file under such a process would lose everything it writes from then
 * on: it keeps writing to a file no longer in the folder. A file that is not a database is held by nobody.
 */
function heldByAnother(path: string): boolean {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 0 });
  } catch {
    return false;
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return false;
  } catch (err) {
    return (err as { code?: unknown }).code === 'SQLITE_BUSY' || (err as { code?: unknown }).code === 'SQLITE_LOCKED';
  } finally {
    db.close();
  }
}

/**
 * Fails as listening would (EADDRINUSE, EACCES…, which the CLI words as what to do) when `port` on `host` cannot be
 * bound: checked before the demo deletes its database, so a second demo started on a port in use leaves the running
 * one's database alone. Port 0 (any free port) always can be.
 */
export async function checkPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolveListen, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolveListen()));
  });
}

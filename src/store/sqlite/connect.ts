import { accessSync, constants, existsSync } from 'node:fs';
import { basename } from 'node:path';
import Database from 'better-sqlite3';
import { GoodhartError } from '../../errors.js';
import { noteSqliteOpened } from './opened.js';

/**
 * How long a statement waits for another connection's lock before failing with SQLITE_BUSY. WAL lets readers
 * run beside the one writer, but two writers (serve + an importer) still take turns; a batch insert of 500
 * events takes milliseconds, so 5 s only runs out when something is badly stuck.
 */
export const BUSY_TIMEOUT_MS = 5_000;

/** A connection to a Goodhart SQLite file; `readOnly` when it was opened read-only (see connectSqlite). */
export interface SqliteConnection {
  db: Database.Database;
  readOnly: boolean;
}

/** SQLite refusing a write: the file, or the folder its -wal, -shm or journal files go in, is not writable for this user. */
export function isReadOnlyError(e: unknown): boolean {
  return e instanceof Database.SqliteError && e.code.startsWith('SQLITE_READONLY');
}

export function readOnlyError(path: string, cause?: unknown): GoodhartError {
  const name = basename(path);
  return new GoodhartError(
    'config_invalid',
    500,
    `The SQLite database at ${path} is read-only for this user, and this command writes to it. Run goodhart as the user who owns the file, give this user write access to the file and its folder (SQLite keeps ${name}-wal and ${name}-shm beside it), or point --db / GOODHART_DB at another file.`,
    cause === undefined ? {} : { cause },
  );
}

/** For a read-only file whose schema (of `what`) this goodhart would have to create or upgrade first. */
export function outdatedReadOnlyError(path: string, what: string): GoodhartError {
  return new GoodhartError(
    'config_invalid',
    500,
    `The database at ${path} needs its ${what} upgraded by this version of goodhart, but the file is read-only for this user. Run any goodhart command on it once as the file's owner (or with write access to the file and its folder), then run this one again.`,
  );
}

const cannotOpen = (path: string, cause: unknown): GoodhartError =>
  new GoodhartError('config_invalid', 500, `Cannot open the SQLite database at ${path}: ${String(cause)}. Check the path (--db or GOODHART_DB) and its permissions.`, { cause });

const notADatabase = (path: string, cause: unknown): GoodhartError =>
  new GoodhartError('config_invalid', 500, `${path} is not a SQLite database (another kind of file, or a damaged one). Point --db or GOODHART_DB at a Goodhart database, or at a new path to create one.`, { cause });

/**
 * Whether SQLite will open the file for writing: it opens a file it may not write read-only, without saying so,
 * and the first write fails later (in `serve`, at the first event). A new file is created by SQLite, which says so.
 */
function writable(path: string): boolean {
  if (path === ':memory:' || !existsSync(path)) return true;
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function openWritable(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (cause) {
    throw cannotOpen(path, cause);
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
  } catch (cause) {
    db.close();
    if (cause instanceof Database.SqliteError && cause.code === 'SQLITE_NOTADB') throw notADatabase(path, cause);
    throw cause;
  }
  return db;
}

function openReadOnly(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw cannotOpen(path, cause);
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // The first read: a database in WAL mode needs its -shm file, which SQLite creates beside it if it is missing.
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
  } catch (cause) {
    db.close();
    if (!(cause instanceof Database.SqliteError)) throw cause;
    if (cause.code === 'SQLITE_NOTADB') throw notADatabase(path, cause);
    if (cause.code.startsWith('SQLITE_READONLY') || cause.code.startsWith('SQLITE_CANTOPEN')) {
      const name = basename(path);
      throw new GoodhartError(
        'config_invalid',
        500,
        `Cannot read the SQLite database at ${path}: it is read-only for this user, and SQLite needs to create ${name}-shm in its folder to read it, which this user may not write. Run this command as the file's owner, or while \`goodhart serve\` has the database open (${name}-shm exists then), or give this user write access to the folder.`,
        { cause },
      );
    }
    throw cause;
  }
  return db;
}

/**
 * Opens a Goodhart SQLite file in WAL mode (so `goodhart report` in another process reads while `goodhart serve`
 * writes). A file this user may not write is an error saying so, up front; with `readOnly` (commands that only read:
 * reports, events, the audit) it is opened read-only instead, where SQLite can read it, and the caller must not write
 * or migrate (`readOnly` in the answer).
 */
export function connectSqlite(path: string, opts: { readOnly?: boolean | undefined } = {}): SqliteConnection {
  noteSqliteOpened(path);
  if (writable(path)) {
    try {
      return { db: openWritable(path), readOnly: false };
    } catch (cause) {
      // A writable file in a folder this user may not write: WAL's -wal and -shm files cannot be made.
      if (!isReadOnlyError(cause)) throw cause;
      if (opts.readOnly !== true) throw readOnlyError(path, cause);
    }
  } else if (opts.readOnly !== true) {
    throw readOnlyError(path);
  }
  return { db: openReadOnly(path), readOnly: true };
}

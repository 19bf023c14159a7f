/**
 * The SQLite files this process opened, so the command line can name the file in a message about an error SQLite
 * raises without one (SQLITE_BUSY: "database is locked"). No dependencies: src/cli/main.ts loads it at start.
 */
const OPENED = new Set<string>();

export function noteSqliteOpened(path: string): void {
  if (path !== ':memory:') OPENED.add(path);
}

export function sqliteFilesOpened(): string[] {
  return [...OPENED];
}

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { isRecord } from '../../usage/usage-fields.js';

/**
 * Where a Gemini CLI chat was recorded: the project root its folder stands for, so its usage is attributed like Claude
 * Code's and Codex's (by the root's git remote, else its last folder). Gemini CLI keeps chats in
 * `~/.gemini/tmp/<project>/chats/` (a subagent's in `chats/<parent session>/`), where `<project>` is:
 * - since the project registry: a short id (the root's folder name as a slug, `my-app`, `my-app-1`), with the root in
 *   `<project>/.project_root` and in `~/.gemini/projects.json` (`{"projects": {"/abs/root": "my-app"}}`);
 * - before it: the SHA-256 (hex) of the root, as every chat's `projectHash` still is (of the root lower-cased on
 *   Windows).
 * A subagent chat's header also lists its workspace `directories` (the root among them).
 */
export interface GeminiPlace {
  /** The root the chat's folder belongs to, when Gemini CLI wrote it down (`.project_root`, `projects.json`). */
  folderRoot: string | null;
  /** Roots `projects.json` names, by the `projectHash` a chat of theirs carries. */
  byHash: ReadonlyMap<string, string>;
}

export const NO_PLACE: GeminiPlace = { folderRoot: null, byHash: new Map() };

/** Reads what Gemini CLI wrote about the folder of the chat at `chatPath` (small files, once per chat file read). */
export function geminiPlace(chatPath: string): GeminiPlace {
  const at = chatPath.lastIndexOf(`${sep}chats${sep}`);
  if (at <= 0) return NO_PLACE;
  const folder = chatPath.slice(0, at);
  const id = basename(folder);
  const tmp = dirname(folder);
  // `~/.gemini/projects.json` beside `tmp/`; a root given as `$GEMINI_DATA_DIR` without `tmp/` holds it itself.
  const registry = readRegistry(join(dirname(tmp), 'projects.json')) ?? readRegistry(join(tmp, 'projects.json')) ?? [];
  const byHash = new Map<string, string>();
  for (const [root] of registry) {
    byHash.set(sha256(root), root);
    byHash.set(sha256(root.toLowerCase()), root);
  }
  const marker = readText(join(folder, '.project_root'));
  const folderRoot = (marker !== null && marker !== '' ? marker : null) ?? registry.find(([, slug]) => slug === id)?.[0] ?? byHash.get(id.toLowerCase()) ?? null;
  return { folderRoot, byHash };
}

/**
 * The project root of a chat: its folder's, else the root whose hash its header's `projectHash` is, else the workspace
 * directory (of a subagent header's `directories`) with that hash, else the first of them (the one it started in).
 */
export function chatRoot(place: GeminiPlace, projectHash: unknown, directories: unknown): string | null {
  if (place.folderRoot !== null) return place.folderRoot;
  const hash = typeof projectHash === 'string' ? projectHash.toLowerCase() : null;
  const named = hash === null ? undefined : place.byHash.get(hash);
  if (named !== undefined) return named;
  const dirs = Array.isArray(directories) ? directories.filter((d): d is string => typeof d === 'string' && d !== '') : [];
  return dirs.find((d) => hash !== null && (sha256(d) === hash || sha256(d.toLowerCase()) === hash)) ?? dirs[0] ?? null;
}

/** `projects.json`'s `[root, short id]` pairs; null when there is none or it is not that shape. */
function readRegistry(path: string): [string, string][] | null {
  const text = readText(path);
  if (text === null) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  const projects = isRecord(doc) ? doc['projects'] : null;
  if (!isRecord(projects)) return null;
  return Object.entries(projects).filter((e): e is [string, string] => e[0] !== '' && typeof e[1] === 'string');
}

/** A small file's text, trimmed; null when it cannot be read. */
function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Ticket ids in text people write: commit messages, pull request titles, branch names, request tags. Pure.
 *
 * Jira-style keys (PROJ-123) are recognised anywhere; `ticketPrefixes` narrows them to the organisation's projects.
 * Without it, keys that are usually something else (UTF-8, SHA-256, ISO-8601, GPT-4…) are ignored. A key followed
 * by `.digit` is a version (`react-18.3.1`), and a dependency bot's branch names packages: neither gives a ticket. GitHub issues
 * count only after a closing keyword (`Fixes #45`), qualified by the repository: a bare `#45` is as often a PR.
 */

/** A key followed by `.digit` is a version (`react-18.3.1`, `node-20.11`), not a ticket. */
const KEY = /\b([A-Za-z][A-Za-z0-9]{0,9})-(\d{1,7})\b(?!\.\d)/g;
/** Branches dependency bots open (`dependabot/npm_and_yarn/react-18.3.1`, `renovate/eslint-9.x`): package names and versions, no tickets. */
const BOT_BRANCH = /^(?:dependabot|renovate|greenkeeper|snyk|pyup|whitesource|mend|depfu|imgbot)[/-]/i;
const CLOSES = /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+#(\d{1,7})\b/gi;
/** Prefixes of KEY-123 shapes that are standards, encodings and model names, not tickets. */
const FALSE_FRIENDS = new Set([
  'UTF', 'SHA', 'ISO', 'RFC', 'HTTP', 'TLS', 'SSL', 'MD', 'AES', 'RSA', 'GPT', 'CVE', 'X', 'V', 'IPV', 'PEP', 'ES',
  'ECMA', 'CP', 'WIN', 'BASE', 'HMAC', 'PR', 'MR', 'ISSUE', 'TASK', 'STEP', 'PHASE', 'TOP', 'Q', 'H', 'P', 'L', 'R',
  // Branch-name words: GitHub's own `patch-1` and `revert-12-…`, release trains, bots, runtimes.
  'PATCH', 'REVERT', 'RELEASE', 'HOTFIX', 'FIX', 'BUGFIX', 'FEATURE', 'FEAT', 'WIP', 'TEST', 'DRAFT', 'SPRINT',
  'VERSION', 'BUMP', 'UPDATE', 'DEPENDABOT', 'RENOVATE', 'NODE', 'PY', 'PYTHON', 'GO', 'JAVA', 'JDK', 'UBUNTU',
]);
/** A task tag on a request: `x-goodhart-tags: task:PROJ-123`. */
const TASK_TAG = /^task:(.+)$/i;

export interface TicketRules {
  /** Upper-case project keys; empty = any key except the false friends. */
  ticketPrefixes: readonly string[];
}

/** Jira-style keys in a text, upper-cased (branch names are often lower case: `proj-123-fix-login`). */
export function ticketKeys(text: string | null | undefined, rules: TicketRules): string[] {
  if (!text) return [];
  const out = new Set<string>();
  for (const m of text.matchAll(KEY)) {
    const prefix = m[1]!.toUpperCase();
    if (/^\d/.test(prefix) || !/[A-Z]/.test(prefix)) continue;
    if (rules.ticketPrefixes.length > 0 ? !rules.ticketPrefixes.includes(prefix) : FALSE_FRIENDS.has(prefix)) continue;
    // A lower-case key in prose ("see step-2") is not a ticket; in a branch name it is handled by ticketsInBranch.
    if (rules.ticketPrefixes.length === 0 && m[1] !== prefix) continue;
    out.add(`${prefix}-${Number(m[2])}`);
  }
  return [...out];
}

/** Keys in a branch name, whatever their case: `feature/proj-123-login` → PROJ-123; none in a dependency bot's branch. */
export function ticketsInBranch(branch: string | null | undefined, rules: TicketRules): string[] {
  if (!branch || BOT_BRANCH.test(branch)) return [];
  return ticketKeys(branch.toUpperCase(), rules);
}

/** Issues a message closes, as `repo#N` (GitHub and GitLab both understand `Fixes #N`). */
export function closedIssues(text: string | null | undefined, repo: string | null): string[] {
  if (!text || repo === null) return [];
  return [...new Set([...text.matchAll(CLOSES)].map((m) => `${repo}#${Number(m[1])}`))];
}

/** Everything a piece of work names: keys in its message and branch, and issues it closes. */
export function ticketsOf(parts: { text?: string | null; branch?: string | null; repo?: string | null }, rules: TicketRules): string[] {
  return [...new Set([...ticketKeys(parts.text, rules), ...ticketsInBranch(parts.branch, rules), ...closedIssues(parts.text, parts.repo ?? null)])];
}

/** Task ids a request was tagged with (`task:PROJ-123`), normalised like ticket keys when they look like one. */
export function taskTags(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of tags) {
    const m = TASK_TAG.exec(t);
    if (!m) continue;
    const id = m[1]!.trim();
    const key = /^([A-Za-z][A-Za-z0-9]{0,9})-(\d{1,7})$/.exec(id);
    out.push(key ? `${key[1]!.toUpperCase()}-${Number(key[2])}` : id);
  }
  return out;
}

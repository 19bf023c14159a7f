import type { Command } from 'commander';
import { parseDateOption } from '../../report/dates.js';
import { adminCall, adminOptions, iso, num, print, type AdminOptions } from '../admin-client.js';

interface AuditOptions extends AdminOptions {
  since?: string;
  until?: string;
  actor?: string;
  kind?: string;
  target?: string;
  limit?: number;
  tz?: string;
}

const short = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
};

export function registerAudit(program: Command): void {
  adminOptions(
    program
      .command('audit-log')
      .description('Every admin change: who, when, what, before and after (append-only; needs the audit permission)')
      .option('--since <date>', 'YYYY-MM-DD or ISO timestamp')
      .option('--until <date>', 'YYYY-MM-DD (inclusive) or ISO timestamp')
      .option('--actor <actor>', 'e.g. user:alice, admin-key:ops or cli:alice (keys made on the command line)')
      .option('--kind <kind>', 'budget, user, team, accessRequest, grant, key…')
      .option('--target <id>', 'one entity')
      .option('--limit <n>', 'newest N entries (default 1000)', num('--limit'))
      .option('--tz <zone>', 'time zone of --since/--until dates (default UTC)'),
  ).action(async (o: AuditOptions) => {
    const timeZone = o.tz ?? 'UTC';
    const q = new URLSearchParams();
    if (o.since) q.set('since', String(parseDateOption(o.since, { option: '--since', timeZone })));
    if (o.until) q.set('until', String(parseDateOption(o.until, { option: '--until', timeZone, endOfDay: true })));
    if (o.actor) q.set('actor', o.actor);
    if (o.kind) q.set('kind', o.kind);
    if (o.target) q.set('target', o.target);
    if (o.limit !== undefined) q.set('limit', String(o.limit));
    const { data } = await adminCall(o, 'GET', `/audit-log${q.size > 0 ? `?${q}` : ''}`);
    print(
      o,
      data,
      ['#', 'at (UTC)', 'actor', 'action', 'target', 'before', 'after'],
      data.map((e: any) => [e.seq, iso(e.at), e.actor, e.action, `${e.targetKind}:${e.targetId}`, short(e.before), short(e.after)]),
    );
  });
}

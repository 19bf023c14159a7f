import type { Command } from 'commander';
import { adminCall, adminOptions, say, iso, num, print, type AdminOptions } from '../admin-client.js';

interface RequestOptions extends AdminOptions {
  tier?: string;
  model?: string;
  justification: string;
  hours?: number;
  user?: string;
}

/** An approved request says what became of its grant: approved (in force), expired or revoked. */
const statusOf = (r: any): string => (r.status === 'approved' && r.grant && r.grant.state !== 'active' ? r.grant.state : r.status);
/** The hours granted (not asked) and until when, or when it was revoked and by whom. */
const grantedOf = (r: any): string => {
  const g = r.grant;
  if (!g) return '';
  if (g.state === 'revoked') return `${g.hours} h, revoked ${iso(g.expiresAt)} by ${g.revokedBy}`;
  return `${g.hours} h, ${g.state === 'active' ? 'until' : 'ended'} ${iso(g.expiresAt)}`;
};
const requestRow = (r: any) => [r.id, r.userId, r.teamId ?? '', r.tier ?? r.model, statusOf(r), r.hours, grantedOf(r), iso(r.createdAt), r.decidedBy ?? '', r.justification];
const REQUEST_COLUMNS = ['id', 'user', 'team', 'asks for', 'status', 'hours asked', 'granted', 'asked', 'decided by', 'justification'];

export function registerAccess(program: Command): void {
  const access = program.command('access').description('Ask for a model tier, and approve or deny such requests (leads and admins)');
  adminOptions(
    access
      .command('request')
      .description('Ask for a tier (or one model) your role does not include, saying what it is for')
      .option('--tier <tier>', 'e.g. premium')
      .option('--model <model>', 'one model instead of a whole tier')
      .requiredOption('--justification <text>', 'what you need it for')
      .option('--hours <n>', 'for how long (default: the gateway’s access.defaultHours)', num('--hours'))
      .option('--user <id>', 'admin keys only: whom the request is for'),
  ).action(async (o: RequestOptions) => {
    const body = {
      justification: o.justification,
      ...(o.tier !== undefined ? { tier: o.tier } : {}),
      ...(o.model !== undefined ? { model: o.model } : {}),
      ...(o.hours !== undefined ? { hours: o.hours } : {}),
      ...(o.user !== undefined ? { user: o.user } : {}),
    };
    const r = await adminCall(o, 'POST', '/access-requests', body);
    if (o.json) print(o, r);
    else say(`Request ${r.id} for ${r.tier ?? r.model} (${r.hours} h) is pending; your team lead or an admin decides.`);
  });
  adminOptions(
    access.command('list').description('Access requests you may see (yours; your team’s if you lead it; all for admins)').option('--status <status>', 'pending, approved or denied'),
  ).action(async (o: AdminOptions & { status?: string }) => {
    const { data } = await adminCall(o, 'GET', `/access-requests${o.status ? `?status=${encodeURIComponent(o.status)}` : ''}`);
    print(o, data, REQUEST_COLUMNS, data.map(requestRow));
  });
  for (const decision of ['approve', 'deny'] as const) {
    adminOptions(
      access
        .command(`${decision} <id>`)
        .description(decision === 'approve' ? 'Grant the access, for the hours asked (or --hours)' : 'Refuse the request')
        .option('--note <text>', 'a word for the requester and the audit log')
        .option('--hours <n>', 'approve: for this many hours instead', num('--hours')),
    ).action(async (id: string, o: AdminOptions & { note?: string; hours?: number }) => {
      const body = { ...(o.note !== undefined ? { note: o.note } : {}), ...(o.hours !== undefined ? { hours: o.hours } : {}) };
      const r = await adminCall(o, 'POST', `/access-requests/${encodeURIComponent(id)}/${decision}`, body);
      if (o.json) print(o, r);
      else say(`Request ${r.id} ${r.status}${r.grantId ? ` (grant ${r.grantId})` : ''}.`);
    });
  }
  adminOptions(
    access.command('grants').description('Grants in force (yours; your team’s if you lead it; all for admins). Time-boxed: they expire by themselves').option('--all', 'include expired grants'),
  ).action(
    async (o: AdminOptions & { all?: boolean }) => {
      const { data } = await adminCall(o, 'GET', `/grants${o.all ? '?active=false' : ''}`);
      print(o, data, ['id', 'user', 'tier/model', 'expires', 'granted by'], data.map((g: any) => [g.id, g.userId, g.tier ?? g.model, iso(g.expiresAt), g.grantedBy]));
    },
  );
  adminOptions(access.command('revoke <grantId>').description('End a grant now (a lead: their team’s; an admin: anyone’s)')).action(async (id: string, o: AdminOptions) => {
    const g = await adminCall(o, 'POST', `/grants/${encodeURIComponent(id)}/revoke`);
    if (o.json) print(o, g);
    else say(`Revoked grant ${g.id} (${g.userId}, ${g.tier ?? g.model}).`);
  });
}

import type { Command } from 'commander';
import { ENTITY_PATHS } from '../../admin/routes.js';
import { adminCall, adminOptions, say, list, num, print, unsetBody, type AdminOptions } from '../admin-client.js';

/**
 * `goodhart teams|users|projects|tiers|roles|rate-limits list|set|delete`: the directory and rules the admin API
 * manages on top of the config. Each `set` changes only the fields given (PATCH: the others keep their values, also
 * those the config declares), `--unset` removes fields; it creates the entity when there is none, and is audited.
 */
interface Field {
  flag: string;
  key: string;
  help: string;
  parse?: (v: string) => unknown;
}

interface Spec {
  description: string;
  fields: Field[];
  /** Table columns beyond id and source. */
  columns: string[];
}

const DIRECTORY = {
  teams: { description: 'Teams', fields: [{ flag: '--name <text>', key: 'name', help: 'display name' }], columns: ['name'] },
  users: {
    description: 'People: their team and governance role',
    fields: [
      { flag: '--team <id>', key: 'team', help: 'their team' },
      { flag: '--role <role>', key: 'role', help: 'member, senior, lead, admin, finance…' },
      { flag: '--email <email>', key: 'email', help: 'email' },
      { flag: '--name <text>', key: 'name', help: 'display name' },
    ],
    columns: ['team', 'role', 'email'],
  },
  projects: {
    description: 'Projects usage is attributed to',
    fields: [
      { flag: '--team <id>', key: 'team', help: 'owning team' },
      { flag: '--repo <url>', key: 'repo', help: 'repository' },
    ],
    columns: ['team', 'repo'],
  },
  tiers: {
    description: 'Model tiers (economy, standard, premium…)',
    fields: [{ flag: '--models <list>', key: 'models', help: 'comma-separated model names or prefix* globs', parse: list }],
    columns: ['models'],
  },
  roles: {
    description: 'Roles: the tiers they allow, and admin permissions',
    fields: [
      { flag: '--tiers <list>', key: 'tiers', help: 'comma-separated tiers', parse: list },
      { flag: '--permissions <list>', key: 'permissions', help: 'approve, manage, budgets, audit', parse: list },
    ],
    columns: ['tiers', 'permissions'],
  },
  'rate-limits': {
    description: 'Requests and tokens per minute, per key, user or team',
    fields: [
      { flag: '--scope <scope>', key: 'scope', help: 'key:*, user:*, team:ID…' },
      { flag: '--rpm <n>', key: 'rpm', help: 'requests per minute', parse: num('--rpm') },
      { flag: '--tpm <n>', key: 'tpm', help: 'tokens per minute', parse: num('--tpm') },
    ],
    columns: ['scope', 'rpm', 'tpm'],
  },
} satisfies Record<Exclude<keyof typeof ENTITY_PATHS, 'budgets'>, Spec>;

const cell = (v: unknown): string => (v === undefined || v === null ? '' : Array.isArray(v) ? v.join(',') : String(v));

export function registerDirectory(program: Command): void {
  for (const [path, spec] of Object.entries(DIRECTORY) as [string, Spec][]) {
    const group = program.command(path).description(`${spec.description}: list, set, delete, reset (admin API)`);
    adminOptions(group.command('list').description(`List ${path}`)).action(async (o: AdminOptions) => {
      const { data } = await adminCall(o, 'GET', `/${path}`);
      print(o, data, ['id', ...spec.columns, 'source'], data.map((e: any) => [e.id, ...spec.columns.map((c) => cell(e.data[c])), e.source]));
    });
    const keys = spec.fields.map((f) => f.key);
    const set = group.command('set <id>').description(`Create one, or change the fields given of one (the others are kept; audited)`);
    for (const f of spec.fields) {
      if (f.parse) set.option(f.flag, f.help, f.parse);
      else set.option(f.flag, f.help);
    }
    set.option('--unset <fields>', `remove fields: ${keys.join(', ')}`, list);
    adminOptions(set).action(async (id: string, o: AdminOptions & Record<string, unknown>) => {
      const body: Record<string, unknown> = unsetBody(o['unset'] as string[] | undefined, keys);
      for (const f of spec.fields) {
        const optionName = f.flag.slice(2).split(' ')[0]!.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
        if (o[optionName] !== undefined) body[f.key] = o[optionName];
      }
      const saved = await adminCall(o, 'PATCH', `/${path}/${encodeURIComponent(id)}`, body);
      if (o.json) print(o, saved);
      else {
        const fields = spec.columns.filter((c) => saved.data[c] !== undefined).map((c) => `${c} ${cell(saved.data[c])}`);
        say(`Saved ${path.replace(/s$/, '')} ${id}${fields.length > 0 ? `: ${fields.join(', ')}` : ''}.`);
      }
    });
    adminOptions(group.command('delete <id>').description('Remove one (also one the config declares)')).action(async (id: string, o: AdminOptions) => {
      await adminCall(o, 'DELETE', `/${path}/${encodeURIComponent(id)}`);
      // The API answers 204 with no body: --json says what was deleted.
      if (o.json) print(o, { kind: ENTITY_PATHS[path as keyof typeof DIRECTORY], id, deleted: true });
      else say(`Deleted ${path.replace(/s$/, '')} ${id}.`);
    });
    adminOptions(group.command('reset <id>').description('Hand one back to the config file: forget what the admin API set or deleted of it')).action(
      async (id: string, o: AdminOptions) => {
        const r = await adminCall(o, 'DELETE', `/${path}/${encodeURIComponent(id)}/override`);
        const what = `${path.replace(/s$/, '')} ${id}`;
        if (o.json) print(o, r);
        else process.stdout.write(r.inForce === null ? `Removed ${what}: the config file does not declare it.\n` : `The ${what} is as the config file declares it again.\n`);
      },
    );
  }
}

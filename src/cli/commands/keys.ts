import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { GoodhartError } from '../../errors.js';
import { idSchema } from '../../config/id.js';
import { hashKey, newKey } from '../../keys/keys.js';
import { openStore } from '../../store/open.js';
import { drawTable } from '../../report/table.js';
import { visible } from '../../report/visible.js';
import { openGovernanceStore } from '../../admin/install.js';
import { Directory, keyTeam } from '../../policy/directory.js';
import type { AuditEntry } from '../../policy/store.js';
import type { KeyRecord, Store } from '../../store/types.js';
import type { GoodhartConfig } from '../../config/schema.js';
import { resolveConfig, resolveDb, type ConfigOptions } from '../context.js';

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

export interface CreateKeyOptions extends ConfigOptions {
  user: string;
  team?: string;
  project?: string;
  name?: string;
  /** Create the database --db names when it does not exist (without: refused, see createKey). */
  newDb?: boolean;
}

/**
 * Where a new key goes, refusing a database --db names that does not exist: a mistyped --db made a new database (and
 * its folders) and printed a key that the gateway, reading its own database, answered 401 for. The database the
 * config, $GOODHART_DB or the default names may be new (`keys create` before the first `serve`), as may one --db
 * names with --new-db.
 */
async function keyStore(opts: CreateKeyOptions, config: GoodhartConfig): Promise<{ store: Store; where: string }> {
  const location = resolveDb(opts, config);
  const otherwise = resolveDb({ ...opts, db: undefined }, config);
  const guard = opts.db !== undefined && opts.newDb !== true && location !== otherwise;
  if (POSTGRES_URL.test(location)) {
    const { redactUrl } = await import('../../store/postgres/postgres-store.js');
    return { store: await openStore(location, guard ? { mustExist: true } : {}), where: redactUrl(location) };
  }
  const where = location === ':memory:' ? location : resolve(location);
  if (guard && where !== ':memory:' && !existsSync(where)) {
    throw new GoodhartError(
      'config_invalid',
      500,
      `No Goodhart database at ${where}, and a key written to a new one would be refused by a gateway reading another (without --db, keys go to ${POSTGRES_URL.test(otherwise) ? (await import('../../store/postgres/postgres-store.js')).redactUrl(otherwise) : resolve(otherwise)}). Check --db, or pass --new-db to create that database.`,
    );
  }
  return { store: await openStore(location), where };
}

/** Creates a key; checks the user and team against the directory (config and admin API), the project against the config. */
export async function createKey(opts: CreateKeyOptions): Promise<{ key: string; record: KeyRecord; where: string }> {
  // The config's rules for ids, also when it declares no users: an empty or spaced id cannot be named in a filter.
  for (const [flag, value] of [['--user', opts.user], ['--team', opts.team], ['--project', opts.project]] as const) {
    if (value === undefined) continue;
    const checked = idSchema.safeParse(value);
    if (!checked.success) throw new GoodhartError('invalid_request', 400, `${flag} "${value}": ${checked.error.issues[0]?.message ?? 'not a valid id'}.`);
  }
  const { config } = resolveConfig(opts);
  const { store, where } = await keyStore(opts, config);
  try {
    // The directory the gateway books usage by: the config with what the admin API set on top (`goodhart users
    // set`), kept beside the events. A store without governance tables (Postgres before `serve`) has the config's.
    const gov = await openGovernanceStore(store, { inMemory: false });
    try {
      const directory = Directory.fromStore(config, gov === null ? [] : await gov.loadOverlay());
      const team = keyTeam(directory, opts, (name) => `--${name}`);
      const made = newKey({ userId: opts.user, teamId: team, projectId: opts.project ?? null, name: opts.name ?? null });
      await store.createKey(made.record);
      await gov?.commit({ audit: keyAudit('key.create', made.record, null, publicView(made.record)) });
      return { ...made, where };
    } finally {
      await gov?.close();
    }
  } finally {
    await store.close();
  }
}

/**
 * Who the audit log says made a change on the command line: `cli:` and the OS user (no key names them; the gateway's
 * admin API records `user:…` or `admin-key:…`).
 */
export function cliActor(env: NodeJS.ProcessEnv = process.env): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (a container running as an arbitrary uid)
  }
  name ||= env['USER'] || env['LOGNAME'] || env['USERNAME'];
  return name ? `cli:${name}` : 'cli';
}

/** The audit entry of a key created or revoked here, as the admin API writes it (without the key itself). */
function keyAudit(action: 'key.create' | 'key.revoke', record: KeyRecord, before: unknown, after: unknown): Omit<AuditEntry, 'seq'> {
  return { at: Date.now(), actor: cliActor(), actorRole: 'cli', action, targetKind: 'key', targetId: record.id, before, after };
}

function publicView(k: KeyRecord) {
  return {
    id: k.id,
    prefix: k.prefix,
    user: k.userId,
    team: k.teamId,
    project: k.projectId,
    name: k.name,
    createdAt: new Date(k.createdAt).toISOString(),
    revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
  };
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('Create, list and revoke Goodhart virtual keys');
  keys
    .command('create')
    .description('Create a key for a user; the key is printed once and only its hash is stored')
    .requiredOption('--user <id>', 'the person the key belongs to')
    .option('--team <id>', 'their team, for a person the config does not put in one (a declared person\'s usage goes to their team in the config)')
    .option('--project <id>', 'the project usage is attributed to')
    .option('--name <text>', 'a label, e.g. "laptop" or "ci"')
    .option('--json', 'print JSON')
    .option('--config <file>', 'config file')
    .option('--db <path>', "the gateway's database (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)")
    .option('--new-db', 'create the database --db names if it does not exist (else refused: a mistyped --db would hold keys no gateway reads)')
    .action(async (opts: CreateKeyOptions & { json?: boolean }) => {
      const { key, record, where } = await createKey(opts);
      // On stderr, so `--json` and a script reading the key are unchanged: which database the gateway must read.
      process.stderr.write(`Stored in ${where}.\n`);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ key, ...publicView(record) })}\n`);
      } else {
        process.stdout.write(
          `${key}\n\nKey ${record.prefix}… for user ${visible(record.userId)}${record.teamId ? ` (team ${visible(record.teamId)})` : ''}. It is shown once: store it now.\n`,
        );
      }
    });
  keys
    .command('list')
    .description('List keys (prefixes only; keys themselves are never stored)')
    .option('--json', 'print JSON')
    .option('--config <file>', 'config file')
    .option('--db <path>', 'database (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .action(async (opts: ConfigOptions & { json?: boolean }) => {
      const { config } = resolveConfig(opts);
      const store = await openStore(resolveDb(opts, config), { mustExist: true, readOnly: true });
      try {
        const rows = (await store.listKeys()).map(publicView);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        const table = drawTable(
          { head: ['id', 'prefix', 'user', 'team', 'project', 'name', 'created', 'revoked'] },
          rows.map((r) => [r.id, `${r.prefix}…`, r.user, r.team ?? '', r.project ?? '', r.name ?? '', r.createdAt.slice(0, 19), r.revokedAt?.slice(0, 19) ?? '']),
        );
        process.stdout.write(`${table}\n`);
      } finally {
        await store.close();
      }
    });
  keys
    .command('revoke <idOrPrefix>')
    .description('Revoke a key by id, prefix (as `keys list` shows it) or the whole key; a running gateway refuses it within 2 seconds')
    .option('--json', 'print JSON')
    .option('--config <file>', 'config file')
    .option('--db <path>', 'database (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .action(async (idOrPrefix: string, opts: ConfigOptions & { json?: boolean }) => {
      const { config } = resolveConfig(opts);
      const store = await openStore(resolveDb(opts, config), { mustExist: true });
      const gov = await openGovernanceStore(store, { inMemory: false }).catch(async (err: unknown) => {
        await store.close();
        throw err;
      });
      try {
        // The prefix as `keys list` prints it ends in "…"; a whole key (a leaked one) is found by its hash.
        let which = idOrPrefix.trim().replace(/(…|\.\.\.)$/, '');
        if (which.startsWith('gh_') && which.length > 20) which = (await store.findKeyByHash(hashKey(which)))?.id ?? which;
        const now = Date.now();
        const revoked = await store.revokeKey(which, now);
        if (!revoked) {
          throw new GoodhartError('not_found', 404, `No key matches "${idOrPrefix}". See \`goodhart keys list\`.`);
        }
        const already = revoked.revokedAt !== null && revoked.revokedAt < now;
        // A revocation is a change (README: every change is in the audit log); one of a revoked key changes nothing.
        if (!already) await gov?.commit({ audit: keyAudit('key.revoke', revoked, { ...publicView(revoked), revokedAt: null }, publicView(revoked)) });
        if (opts.json) process.stdout.write(`${JSON.stringify({ ...publicView(revoked), alreadyRevoked: already })}\n`);
        else if (already) process.stdout.write(`Key ${revoked.prefix}… (user ${visible(revoked.userId)}) was already revoked on ${new Date(revoked.revokedAt!).toISOString().slice(0, 19)}.\n`);
        else process.stdout.write(`Revoked ${revoked.prefix}… (user ${visible(revoked.userId)}).\n`);
      } finally {
        await gov?.close();
        await store.close();
      }
    });
}

import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';

/** The machine's PostgreSQL for tests (GOODHART_TEST_PG_URL points elsewhere). */
export const TEST_PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Schemas of a test file's own in the test database, each dropped when the file's tests end: call at the top of the
 * file. `admin()` is a connection that may create and drop them (and anything else the file sets up); `beforeEnd`
 * undoes what else the file made with it (a role), before that connection closes.
 */
export function testSchemas(prefix: string, opts: { beforeEnd?: (admin: postgres.Sql) => Promise<void> } = {}) {
  const run = `${prefix}_${randomBytes(4).toString('hex')}`;
  const schemas: string[] = [];
  let sql: postgres.Sql | undefined;
  beforeAll(async () => {
    sql = postgres(TEST_PG_URL, { max: 2, connect_timeout: 5, onnotice: () => {} });
    await sql`SELECT 1`;
  });
  afterAll(async () => {
    if (sql === undefined) return;
    for (const schema of schemas) await sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`;
    await opts.beforeEnd?.(sql);
    await sql.end({ timeout: 5 });
  });
  const admin = (): postgres.Sql => {
    if (sql === undefined) throw new Error('testSchemas: the connection opens in beforeAll');
    return sql;
  };
  return {
    run,
    admin,
    /** A new empty schema's name. */
    async fresh(): Promise<string> {
      const schema = `${run}_${schemas.length + 1}`;
      schemas.push(schema);
      await admin()`CREATE SCHEMA ${admin()(schema)}`;
      return schema;
    },
  };
}

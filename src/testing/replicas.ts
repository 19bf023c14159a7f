import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import postgres from 'postgres';

/**
 * Separate goodhart processes (gateway replicas, the simulated provider) for the scale-out tests and benchmark,
 * and the throwaway Postgres schema and Redis key prefix they share.
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const URL_LINE = /http:\/\/127\.0\.0\.1:\d+/;

export interface Proc {
  proc: ChildProcess;
  url: string;
  pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends the signal and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `node --import tsx src/cli/main.ts …args`, resolved once it prints its URL. */
export function spawnGoodhart(args: readonly string[], env: Record<string, string> = {}): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', `${ROOT}src/cli/main.ts`, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let ready = false;
    const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready ? null : URL_LINE.exec(out);
      if (m) {
        ready = true;
        resolve({
          proc,
          url: m[0],
          pid: proc.pid!,
          output: () => out,
          async stop(signal = 'SIGTERM') {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            return exited;
          },
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((code) => {
      if (!ready) reject(new Error(`goodhart ${args.join(' ')} exited (${code}) before it was ready:\n${out}`));
    });
  });
}

/** A new schema for one test file or benchmark run; the URL selects it through `search_path`. */
export async function pgSchema(baseUrl: string, tag: string): Promise<{ url: string; schema: string; sql: postgres.Sql; drop(): Promise<void> }> {
  const schema = `gh_${tag}_${randomBytes(4).toString('hex')}`;
  const sql = postgres(baseUrl, { max: 2, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`CREATE SCHEMA ${sql(schema)}`;
  } catch (cause) {
    await sql.end({ timeout: 1 });
    throw new Error(`PostgreSQL is not reachable at ${baseUrl} (${String(cause)}): start it as .ci/run does, or set GOODHART_TEST_PG_URL.`);
  }
  const url = `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}search_path=${schema}`;
  return {
    url,
    schema,
    sql,
    async drop() {
      await sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`;
      await sql.end({ timeout: 5 });
    },
  };
}

/** A new key prefix in Redis, and a way to delete everything under it. */
export async function redisPrefix(url: string, tag: string): Promise<{ prefix: string; redis: Redis; drop(): Promise<void> }> {
  const prefix = `ghtest:${tag}:${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
  } catch (cause) {
    redis.disconnect();
    throw new Error(`Redis is not reachable at ${url} (${String(cause)}): start it as .ci/run does, or set GOODHART_TEST_REDIS_URL.`);
  }
  return {
    prefix,
    redis,
    async drop() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}

/** CPU time (user + system) a process has used, in ms (USER_HZ = 100). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

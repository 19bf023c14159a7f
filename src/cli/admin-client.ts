import type { Command } from 'commander';
import { GoodhartError } from '../errors.js';
import { drawTable } from '../report/table.js';
import { visible, visibleText } from '../report/visible.js';

/**
 * The governance commands are thin clients of a running gateway's admin API: one writer (the gateway) applies
 * every change at once, checks the caller's role and audits it. The caller is whoever the key belongs to: an
 * admin key from the config, or a person's own gh_ key.
 */
export interface AdminOptions {
  url?: string;
  key?: string;
  json?: boolean;
  /** The config whose server.host and server.port the gateway listens on (when no --url or $GOODHART_URL). */
  config?: string;
}

type Env = Record<string, string | undefined>;

/** Adds --url, --key, --config and --json to a command. */
export function adminOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', "the gateway (default $GOODHART_URL, else the config's server.host and server.port, else http://127.0.0.1:8787)")
    .option('--key <key>', 'admin key or your own gh_ key (default $GOODHART_ADMIN_KEY, else $GOODHART_API_KEY)')
    .option('--config <file>', 'the config the gateway runs with, for its address (default $GOODHART_CONFIG or ./goodhart.yaml)')
    .option('--json', 'print JSON');
}

/**
 * Where the gateway is: --url, else $GOODHART_URL, else the address the config (--config, $GOODHART_CONFIG or
 * ./goodhart.yaml) tells `serve` to listen on, else serve's default. A wildcard host (0.0.0.0, ::) is reached on loopback.
 */
export async function gatewayUrl(opts: AdminOptions, env: Env = process.env): Promise<string> {
  const given = opts.url ?? env['GOODHART_URL'];
  if (given !== undefined && given !== '') return given.replace(/\/+$/, '');
  const { configPath } = await import('./config-path.js');
  const file = configPath(opts, env);
  if (file === undefined) return 'http://127.0.0.1:8787';
  const { loadConfigFile } = await import('../config/load.js');
  const { host, port } = loadConfigFile(file, env, 'read').server;
  const reach = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reach.includes(':') ? `[${reach}]` : reach}:${port}`;
}

export async function adminCall(opts: AdminOptions, method: string, path: string, body?: unknown, env: Env = process.env): Promise<any> {
  const key = opts.key ?? env['GOODHART_ADMIN_KEY'] ?? env['GOODHART_API_KEY'];
  if (key === undefined || key === '') {
    throw new GoodhartError('unauthorized', 401, 'No key for the admin API. Pass --key, or set GOODHART_ADMIN_KEY (an admin key) or GOODHART_API_KEY (your gh_ key).');
  }
  const base = await gatewayUrl(opts, env);
  let res: Response;
  try {
    res = await fetch(`${base}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (cause) {
    throw new GoodhartError('upstream_unreachable', 502, `Cannot reach the gateway at ${base} (${String(cause)}). Is \`goodhart serve\` running? Pass --url or set GOODHART_URL (or --config: the address its server.host and server.port give).`, { cause });
  }
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // An HTML error page from a proxy, or another server on that port: not the gateway's admin API.
    const type = res.headers.get('content-type') ?? 'none';
    const start = visible(text.slice(0, 80).replace(/\s+/g, ' ').trim());
    throw new GoodhartError(
      'upstream_error',
      502,
      `${base}/admin/v1${path} answered HTTP ${res.status} with something that is not JSON (content-type ${type}, starting "${start}${text.length > 80 ? '…' : ''}"): it is not a Goodhart gateway's admin API. Check that GOODHART_URL or --url points at \`goodhart serve\` (its address and port, without /admin/v1), not at a proxy or another server.`,
    );
  }
  if (!res.ok) {
    const message = json?.error?.message ?? `HTTP ${res.status}`;
    throw new GoodhartError(res.status === 403 ? 'forbidden' : res.status === 404 ? 'not_found' : 'invalid_request', res.status, message);
  }
  return json;
}

/** Prints rows as a table, or JSON with --json. */
export function print(opts: AdminOptions, data: unknown, columns?: readonly string[], rows?: (string | number)[][]): void {
  if (opts.json || columns === undefined || rows === undefined) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  process.stdout.write(`${drawTable({ head: columns }, rows)}\n`);
}

/** Prints a sentence about what the gateway answered; its ids and names are shown with their control characters visible. */
export function say(text: string): void {
  process.stdout.write(`${visibleText(text)}\n`);
}

export const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

export function num(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new GoodhartError('invalid_request', 400, `${name} must be a number (got "${v}").`);
    return n;
  };
}

/**
 * `--unset a,b` as the fields of a PATCH body set to null (which removes them), each checked against the fields the
 * command knows (a misspelt one would remove nothing, silently). `known` are the body's keys; their kebab-case flag
 * names are accepted too.
 */
export function unsetBody(unset: readonly string[] | undefined, known: readonly string[]): Record<string, null> {
  const body: Record<string, null> = {};
  for (const name of unset ?? []) {
    const key = name.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (!known.includes(key)) throw new GoodhartError('invalid_request', 400, `--unset ${name}: no such field. Fields: ${known.join(', ')}.`);
    body[key] = null;
  }
  return body;
}

/** A comma-separated list of numbers, each checked: `--thresholds 50,abc` said "received null" (abc sent as NaN). */
export function numList(name: string): (v: string) => number[] {
  return (v: string) => list(v).map((part) => {
    const n = Number(part);
    if (part === '' || !Number.isFinite(n)) throw new GoodhartError('invalid_request', 400, `${name}: "${part}" is not a number; give numbers separated by commas (e.g. 50,80,100), got "${v}".`);
    return n;
  });
}

export const iso = (ms: number | null | undefined): string => (typeof ms === 'number' ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') : '');

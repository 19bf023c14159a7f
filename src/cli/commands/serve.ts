import type { Command } from 'commander';
import { GoodhartError } from '../../errors.js';
import { startLiveDetection, type LiveRunner } from '../../detect/live/runner.js';
import { createGateway, type Gateway } from '../../gateway/server.js';
import { PROVIDER_ADAPTERS } from '../../gateway/providers/registry.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/types.js';
import { redisSchema, type GoodhartConfig } from '../../config/schema.js';
import { redactRedisUrl } from '../../policy/redis/connection.js';
import { redactUrl as redactDb } from '../../store/postgres/postgres-store.js';
import { ladderProblems } from '../../route/index.js';
import type { Override } from '../../policy/directory.js';
import { KIND_PATHS } from '../../policy/store.js';
import { resolveConfig, resolveDb, type ConfigOptions } from '../context.js';

export interface ServeOptions extends ConfigOptions {
  port?: string;
  host?: string;
  demo?: boolean;
}

export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new GoodhartError('invalid_request', 400, `--port must be a whole number from 0 to 65535 (got "${value}").`);
  }
  return n;
}

export interface Running {
  url: string;
  gateway: Gateway;
  store: Store;
  /** Waste detection as events arrive (a worker thread); null when `detect.live.enabled` is false. */
  live: LiveRunner | null;
  /** Stops accepting, finishes in-flight requests, writes every pending event, closes the store. */
  stop(): Promise<void>;
}

/** `redis.url` from the config, else $GOODHART_REDIS_URL (validated here, once, at start). */
export function withRedisFromEnv(config: GoodhartConfig, env: Record<string, string | undefined> = process.env): GoodhartConfig {
  const url = env['GOODHART_REDIS_URL'];
  if (config.redis !== undefined || url === undefined || url.trim() === '') return config;
  const parsed = redisSchema.safeParse({ url: url.trim() });
  if (!parsed.success) {
    throw new GoodhartError('config_invalid', 500, `GOODHART_REDIS_URL: ${parsed.error.issues[0]?.message ?? 'invalid'}. Fix: set it to redis://host:6379/0, or unset it.`);
  }
  return { ...config, redis: parsed.data };
}

export async function startGateway(config: GoodhartConfig, db: string, port?: number, host?: string): Promise<Running> {
  config = withRedisFromEnv(config);
  const store = await openStore(db);
  // Warnings and internal errors to stderr as JSON lines; never request bodies or headers (keys).
  let gateway: Gateway;
  try {
    gateway = await createGateway({
      config,
      store,
      // Through process.stderr (pino writes to stdout by default), whose errors outliveTerminal() handles.
      logger: { level: process.env.GOODHART_LOG_LEVEL ?? 'warn', stream: process.stderr },
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const url = await gateway.listen(port ?? config.server.port, host ?? config.server.host);
  // Off the request path: its own thread and store connection, reading what the gateway (and OTLP, imports) stored.
  const live = await startLiveDetection({ config, db, store, budgets: () => gateway.governance?.policy.current().budgets ?? config.budgets });
  return {
    url,
    gateway,
    store,
    live,
    async stop() {
      await gateway.close();
      await live?.close();
      await store.close();
    },
  };
}

/**
 * SIGTERM/SIGINT/SIGHUP: drain and exit 0; a second signal exits at once. SIGHUP (a closed terminal, or an operator
 * expecting a reload) drains too rather than dropping requests in flight: the config is read at start only, so a
 * reload is a restart, which a supervisor does (deploy/goodhart@.service: `systemctl reload`, Restart=always).
 */
export function stopOnSignals(running: { stop(): Promise<void> }, log: (s: string) => void): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    if (sig === 'SIGHUP') log('\nSIGHUP: Goodhart does not reload its config in place: it drains and exits; started again (by hand, or by a supervisor such as the systemd unit in deploy/), it reads the config anew.');
    log(`\n${sig}: finishing in-flight requests and writing pending usage events…`);
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.once('SIGHUP', onSignal);
}

/**
 * A terminal that went away (a closed window, a dropped ssh session) fails every later write to it with EIO, and
 * an unhandled stream error ends the process at once: requests in flight cut, pending events lost. What would have
 * been printed is lost instead; the drain that SIGHUP starts goes on.
 */
function outliveTerminal(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

/**
 * The startup line naming the providers, or the warning that there are none: with a config file, the SDK variables
 * (OPENAI_API_KEY…) are not read (configFromEnv is used only without one), so the advice then is the file's `providers:`.
 */
export function providersLine(config: GoodhartConfig, file: string | undefined): string {
  const providers = Object.entries(config.providers);
  if (providers.length > 0) return `  providers: ${providers.map(([id, p]) => `${id} (${p.type})`).join(', ')}`;
  if (file === undefined) return '  WARNING: no provider configured. Set OPENAI_API_KEY / ANTHROPIC_API_KEY or write a config (`goodhart init`).';
  return `  WARNING: ${file} declares no providers, so every model request gets 404. Add them under \`providers:\` (\`goodhart init\` writes an example); OPENAI_API_KEY and ANTHROPIC_API_KEY are read only when there is no config file.`;
}

/**
 * The start-up warning naming each entity of the config file that the admin API set or deleted: edits of those in
 * the file are not read while the API's change stands, and nothing else would say so. Empty when there is none.
 */
export function overridesNotice(overrides: readonly Override[], file: string | undefined): string[] {
  if (overrides.length === 0) return [];
  const where = file ?? 'the config';
  const lines = [`  WARNING: the admin API changed ${overrides.length === 1 ? 'an entity' : `${overrides.length} entities`} of ${where}; edits of ${overrides.length === 1 ? 'it' : 'them'} in the file are not read:`];
  for (const o of overrides) {
    const change = o.change === 'deleted' ? 'deleted' : 'set';
    lines.push(`    ${o.kind} ${o.id}: ${change} through the admin API ${new Date(o.updatedAt).toISOString()} by ${o.updatedBy}`);
  }
  const first = overrides[0]!;
  lines.push(`  To hand one back to the file: \`goodhart ${KIND_PATHS[first.kind]} reset ${first.id}\` (DELETE /admin/v1/${KIND_PATHS[first.kind]}/${first.id}/override).`);
  return lines;
}

/**
 * Where to point clients, for the APIs some configured provider speaks: ANTHROPIC_BASE_URL is no use to a gateway
 * without an Anthropic provider (every /v1/messages request would get 404). null without providers (the warning says so).
 */
export function clientsLine(config: GoodhartConfig, url: string): string | null {
  const wires = new Set(Object.values(config.providers).map((p) => PROVIDER_ADAPTERS[p.type].wire));
  const parts = [
    ...(wires.has('openai') ? [`OpenAI SDKs: OPENAI_BASE_URL=${url}/v1`] : []),
    ...(wires.has('anthropic') ? [`Anthropic SDKs, Claude Code: ANTHROPIC_BASE_URL=${url}`] : []),
  ];
  return parts.length === 0 ? null : `  ${parts.join('   ')}`;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the gateway (OpenAI- and Anthropic-compatible, metered)')
    .option('--config <file>', 'YAML config (default: $GOODHART_CONFIG, ./goodhart.yaml, or provider env variables)')
    .option('--port <n>', 'port to listen on (default 8787)')
    .option('--host <addr>', 'address to bind (default 127.0.0.1)')
    .option('--db <path>', 'SQLite file, or postgres://… for several replicas (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .option('--demo', 'run offline with a simulated provider, a demo organisation and a little traffic')
    .action(async (opts: ServeOptions) => {
      const port = parsePort(opts.port);
      outliveTerminal();
      const log = (s: string) => process.stderr.write(`${s}\n`);
      if (opts.demo) {
        // Loaded on demand: the simulated provider and its tokenizer tables are not needed to serve real traffic.
        const { runDemo } = await import('../../demo/demo.js');
        const demo = await runDemo({ port, host: opts.host, db: opts.db, log });
        stopOnSignals(demo, log);
        return;
      }
      // The ladders need the gateway's router and prices: checked here, so a mistake is reported with its line.
      const { config, file } = resolveConfig(opts, process.env, 'serve', [ladderProblems]);
      const running = await startGateway(config, resolveDb(opts, config), port, opts.host);
      log(`Goodhart gateway listening on ${running.url}`);
      const shared = running.gateway.governance?.redis;
      log(`  config: ${file ?? '(none: providers from environment variables)'}; store: ${redactDb(resolveDb(opts, config))}${shared ? `; budgets shared through ${redactRedisUrl(shared.url)}` : ''}`);
      log(providersLine(config, file));
      const clients = clientsLine(config, running.url);
      if (clients !== null) log(clients);
      if (running.live) log(`  waste detection: live, every ${config.detect.live.intervalSeconds} s (one replica at a time)`);
      for (const line of overridesNotice(running.gateway.governance?.service.overrides() ?? [], file)) log(line);
      stopOnSignals(running, log);
    });
}

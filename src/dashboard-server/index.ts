import type { FastifyInstance, FastifyReply } from 'fastify';
import { AdminAuth } from '../admin/auth.js';
import type { Governance } from '../admin/install.js';
import type { GoodhartConfig } from '../config/schema.js';
import { findingsStoreOf } from '../detect/store.js';
import type { KeyCache } from '../gateway/auth.js';
import { Directory } from '../policy/directory.js';
import { openDecisionStore } from '../route/open.js';
import { storeSpec } from '../store/open.js';
import { supportsImports, type Store } from '../store/types.js';
import { registerDashboardApi } from './api.js';
import { DashboardAuth } from './auth.js';
import { loadAssets, type Asset } from './bundle.js';
import { ReaderThread } from './reader.js';
import { openSessionRecords, SessionTable } from './sessions.js';
import type { ViewContext } from './views.js';

/**
 * The web dashboard, served by the gateway: the page at `/` (with /assets/app.js and /assets/app.css) and its
 * JSON API under /api. One call from the gateway: `await registerDashboard(app, { config, store, keys, governance, now })`.
 */
export interface DashboardDeps {
  config: GoodhartConfig;
  store: Store;
  keys: KeyCache;
  /** Live budgets, roles and access requests; null without governance (roles then come from the config). */
  governance: Governance | null;
  now: () => number;
}

/** The page runs only our own script and style, is never framed, and sends no referrer. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export async function registerDashboard(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  // Loaded on the first page view, not at start: a gateway that nobody opens in a browser pays nothing.
  let assets: Promise<Map<string, Asset>> | undefined;
  const staticSpec = new Directory(deps.config).spec();
  const spec = () => deps.governance?.policy.current() ?? staticSpec;
  const where = storeSpec(deps.store);
  let reads: Pick<ViewContext, 'store' | 'findings' | 'outcomes' | 'decisions'>;
  let reader: ReaderThread | undefined;
  if (where?.kind === 'sqlite') {
    // A SQLite file is read on the dashboard's own thread: its queries are synchronous (reader.ts).
    const thread = new ReaderThread(where.path);
    reader = thread;
    app.addHook('onClose', async () => thread.close());
    reads = { store: thread, findings: thread, outcomes: { source: thread, config: deps.config }, decisions: thread };
  } else {
    // Postgres reads are asynchronous I/O; routing decisions live in tables of their own, on a connection of the
    // dashboard's own. An in-memory store keeps no decisions the dashboard could read.
    const decisions = await openDecisionStore(deps.store);
    if (decisions) app.addHook('onClose', async () => decisions.close());
    reads = {
      store: deps.store,
      findings: findingsStoreOf(deps.store) ?? null,
      outcomes: supportsImports(deps.store) ? { source: deps.store, config: deps.config } : null,
      decisions,
    };
  }
  const sessions = await openSessionRecords(deps.store, reader);
  app.addHook('onClose', async () => sessions.close());
  const auth = new DashboardAuth({
    config: deps.config,
    store: deps.store,
    spec,
    adminAuth: new AdminAuth(deps.config, deps.keys, spec),
    sessions: new SessionTable(deps.now, sessions),
  });
  registerDashboardApi(app, {
    auth,
    store: deps.store,
    governance: deps.governance,
    spec,
    context: () => ({
      ...reads,
      timeZone: deps.config.timeZone,
      now: deps.now(),
      budgets: () => spec().budgets,
      minGroupSize: deps.config.dashboard.minGroupSize,
      maxShare: deps.config.dashboard.maxShare,
    }),
  });

  const serve = (name: string) => async (_req: unknown, reply: FastifyReply) => {
    assets ??= loadAssets();
    const a = (await assets).get(name)!;
    void reply.headers({ 'content-type': a.type, 'cache-control': name === 'index.html' ? 'no-cache' : 'public, max-age=300', ...PAGE_HEADERS });
    return reply.send(a.body);
  };
  app.get('/', serve('index.html'));
  app.get('/assets/app.js', serve('app.js'));
  app.get('/assets/app.css', serve('app.css'));
}

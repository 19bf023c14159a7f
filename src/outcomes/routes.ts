import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GoodhartConfig } from '../config/schema.js';
import { GoodhartError } from '../errors.js';
import { decodeBody } from '../gateway/body.js';
import type { KeyRecord, OutcomeStore, Store } from '../store/types.js';
import type { OutcomeEvent } from './event.js';
import { apiOutcomes, parseApiBody } from './webhooks/api.js';
import { githubOutcomes } from './webhooks/github.js';
import { gitlabOutcomes } from './webhooks/gitlab.js';
import { createWebhookContext, type WebhookResult } from './webhooks/types.js';
import { verifyGithubSignature, verifyToken } from './webhooks/verify.js';

/**
 * Outcome receivers on the gateway:
 * - `POST /v1/outcomes/github`  GitHub webhooks, `X-Hub-Signature-256` checked against outcomes.webhooks.github;
 * - `POST /v1/outcomes/gitlab`  GitLab webhooks, `X-Gitlab-Token` checked against outcomes.webhooks.gitlab;
 * - `POST /v1/outcomes`         anything else, with a Goodhart key (see webhooks/api.ts).
 * Thin: authenticate, map (pure modules in webhooks/), insert. Registered as an encapsulated plugin with its own
 * body parser: signatures are over the exact bytes, and GitHub can send `application/x-www-form-urlencoded`.
 */
export interface OutcomeRouteDeps {
  keys: { authenticate(headers: FastifyRequest['headers']): KeyRecord | Promise<KeyRecord> };
  store: Store;
  config: Pick<GoodhartConfig, 'identities' | 'users' | 'outcomes' | 'projects'>;
  now?: () => number;
}

function outcomeStore(store: Store): Pick<OutcomeStore, 'insertOutcomes'> {
  const s = store as Partial<OutcomeStore>;
  if (typeof s.insertOutcomes !== 'function') throw new GoodhartError('internal', 501, `The ${store.kind} store does not keep outcomes; use SQLite or Postgres.`);
  return store as Store & OutcomeStore;
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

/** A webhook body: JSON, or GitHub's form encoding (`payload=<url-encoded JSON>`). */
function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  try {
    if (contentType !== undefined && /^application\/x-www-form-urlencoded/i.test(contentType)) {
      const payload = new URLSearchParams(raw.toString('utf8')).get('payload');
      return payload === null ? undefined : JSON.parse(payload);
    }
    return raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new GoodhartError('invalid_json', 400, `The body is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}). Send Content-Type: application/json.`, { cause });
  }
}

export function registerOutcomeRoutes(app: FastifyInstance, deps: OutcomeRouteDeps): void {
  const now = deps.now ?? Date.now;
  const ctx = createWebhookContext(deps.config, now);
  const hooks = deps.config.outcomes.webhooks;
  const trusted = new Set(deps.config.outcomes.trustedPosters);

  const record = async (result: WebhookResult): Promise<{ received: number; inserted: number; ignored?: string }> => {
    const inserted = result.outcomes.length === 0 ? 0 : await outcomeStore(deps.store).insertOutcomes(result.outcomes);
    return { received: result.outcomes.length, inserted, ...(result.ignored !== undefined ? { ignored: result.ignored } : {}) };
  };

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Decoded from its Content-Encoding as the gateway's bodies are (a gzipped POST /v1/outcomes was refused as
    // "not valid JSON … Send Content-Type: application/json"); a signature is checked over the decoded bytes.
    const bodyLimit = app.initialConfig.bodyLimit ?? 1 << 20;
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (req, raw, done) => decodeBody(req.headers['content-encoding'], raw as Buffer, bodyLimit, (err, body) => done(err, err === null ? body : undefined)));
    const rawOf = (req: FastifyRequest): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

    scope.post('/v1/outcomes/github', async (req) => {
      if (hooks.github === undefined) {
        throw new GoodhartError('not_found', 404, 'GitHub webhooks are not configured here. Set outcomes.webhooks.github.secrets (e.g. ["${GITHUB_WEBHOOK_SECRET}"]) in goodhart.yaml and restart.');
      }
      const raw = rawOf(req);
      if (!verifyGithubSignature(raw, header(req, 'x-hub-signature-256'), hooks.github.secrets)) {
        throw new GoodhartError('unauthorized', 401, 'X-Hub-Signature-256 is missing or does not match. Set the same secret in the GitHub webhook and in outcomes.webhooks.github.secrets.');
      }
      const event = header(req, 'x-github-event');
      if (event === undefined) throw new GoodhartError('invalid_request', 400, 'X-GitHub-Event is missing: this endpoint takes GitHub webhook deliveries.');
      return record(githubOutcomes(event, parseBody(raw, header(req, 'content-type')), ctx));
    });

    scope.post('/v1/outcomes/gitlab', async (req) => {
      if (hooks.gitlab === undefined) {
        throw new GoodhartError('not_found', 404, 'GitLab webhooks are not configured here. Set outcomes.webhooks.gitlab.tokens (e.g. ["${GITLAB_WEBHOOK_TOKEN}"]) in goodhart.yaml and restart.');
      }
      if (!verifyToken(header(req, 'x-gitlab-token'), hooks.gitlab.tokens)) {
        throw new GoodhartError('unauthorized', 401, 'X-Gitlab-Token is missing or wrong. Set the same secret token in the GitLab webhook and in outcomes.webhooks.gitlab.tokens.');
      }
      const event = header(req, 'x-gitlab-event');
      if (event === undefined) throw new GoodhartError('invalid_request', 400, 'X-Gitlab-Event is missing: this endpoint takes GitLab webhook deliveries.');
      return record(gitlabOutcomes(event, parseBody(rawOf(req), header(req, 'content-type')), ctx));
    });

    scope.post('/v1/outcomes', async (req) => {
      const authed = deps.keys.authenticate(req.headers);
      const key = authed instanceof Promise ? await authed : authed;
      const items = parseApiBody(parseBody(rawOf(req), undefined));
      const outcomes: OutcomeEvent[] = apiOutcomes(items, { userId: key.userId, teamId: key.teamId, trusted: trusted.has(key.userId) }, ctx);
      return record({ outcomes });
    });
  });
}

import type { Command } from 'commander';
import { detailOf } from '../../alerts/format.js';
import { visibleText } from '../../report/visible.js';
import { postJson, redactUrl } from '../../alerts/send.js';
import { GoodhartError } from '../../errors.js';
import { collectDigest, digestMarkdown, digestWebhookBody, digestWeek } from '../../report/digest.js';
import { openReportSources } from '../../report/sources.js';
import { openStore } from '../../store/open.js';
import { EVENT_SOURCES } from '../../usage/event.js';
import { resolveConfig, resolveDb, type ConfigOptions } from '../context.js';
import { sourceOption } from './report.js';

export interface DigestOptions extends ConfigOptions {
  user: string;
  week?: string;
  send?: boolean;
  /** A webhook for this person only (their DM bot, their mailer), instead of the config's webhook sinks. */
  to?: string;
  /** Usage of this event source only, as `report --source`. */
  source?: string;
  now?: number;
}

/**
 * `goodhart digest --user U`: the person's weekly digest in Markdown; with `--send`, delivered through the alert
 * sinks' webhook sender. Digests are personal, so they go to `webhook` sinks that take a person's detail (whose
 * receiver gets the recipient and delivers to them) or to `--to`, never to a Slack channel sink, where everyone
 * would read them, nor to a webhook set to `findings: team` or `off`.
 */
export async function runDigest(opts: DigestOptions): Promise<{ markdown: string; sent: string[] }> {
  const source = opts.source === undefined ? undefined : sourceOption(opts.source);
  // Sending uses the config's webhook sinks, whose URLs may come from ${VAR}s that must be set then.
  const { config } = resolveConfig(opts, process.env, opts.send === true && opts.to === undefined ? 'serve' : 'read');
  const store = await openStore(resolveDb(opts, config), { mustExist: true, readOnly: true });
  const sources = await openReportSources(config, store);
  try {
    const week = digestWeek(opts.week, opts.now ?? Date.now(), config.timeZone);
    const data = await collectDigest(sources, opts.user, week, source);
    const markdown = digestMarkdown(data);
    if (opts.send !== true && opts.to === undefined) return { markdown, sent: [] };
    // A webhook set to `findings: team` (or `off`) was declared not to take a person's detail: a digest is all detail.
    const targets = opts.to !== undefined ? [{ url: opts.to }] : config.alerts.sinks.filter((s) => s.type === 'webhook' && detailOf(s) === 'person');
    if (targets.length === 0) {
      throw new GoodhartError(
        'config_invalid',
        500,
        'No webhook sink to deliver the digest to. Add one under alerts.sinks (type: webhook, without `findings: team` or `off`) whose receiver delivers to the recipient, or pass --to URL. Slack sinks post to a channel, and webhooks set to `findings: team` or `off` take no person\'s detail, so digests never go there.',
      );
    }
    const user = config.users.find((u) => u.id === opts.user);
    const body = JSON.stringify(digestWebhookBody(data, markdown, { email: user?.email, name: user?.name }));
    const sent: string[] = [];
    for (const t of targets) {
      const r = await postJson(t, body, { maxAttempts: config.alerts.maxAttempts, initialBackoffMs: config.alerts.initialBackoffMs, userAgent: 'goodhart-digest' });
      if (!r.ok) throw new GoodhartError('upstream_unreachable', 502, `Digest for ${opts.user} to ${redactUrl(t.url)} failed after ${r.attempts} attempts (${r.last}).`, { retryable: true });
      sent.push(redactUrl(t.url));
    }
    return { markdown, sent };
  } finally {
    await sources.close();
    await store.close();
  }
}

export function registerDigest(program: Command): void {
  program
    .command('digest')
    .description('A person’s weekly digest: their usage, what it produced, and suggestions from their own findings')
    .requiredOption('--user <id>', 'whose digest')
    .option('--week <YYYY-MM-DD>', 'any day of the week (default: the last complete week)')
    .option('--send', 'deliver it to the config’s webhook alert sinks (not Slack channel sinks: digests are personal)')
    .option('--to <url>', 'deliver it to this webhook instead')
    .option('--source <source>', `usage of this source only (${EVENT_SOURCES.join(', ')}); default: every source added up`)
    .option('--config <file>', 'YAML config')
    .option('--db <path>', 'database (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .action(async (o: DigestOptions) => {
      const { markdown, sent } = await runDigest(o);
      // What is sent stays exact; what the terminal shows has its control characters visible.
      process.stdout.write(visibleText(markdown));
      if (sent.length > 0) process.stderr.write(`Sent to ${sent.join(', ')}\n`);
    });
}

import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { GoodhartError } from '../../errors.js';
import { collectAudit } from '../../report/audit-data.js';
import { auditHtml, auditMarkdown } from '../../report/audit-render.js';
import { formatWallTime } from '../../report/dates.js';
import { openReportSources } from '../../report/sources.js';
import { visibleText } from '../../report/visible.js';
import { openStore } from '../../store/open.js';
import { EVENT_SOURCES } from '../../usage/event.js';
import { resolveConfig, resolveDb, type ConfigOptions } from '../context.js';
import { sourceOption } from './report.js';

export interface AuditReportOptions extends ConfigOptions {
  period?: string;
  format?: string;
  out?: string;
  /** Spend of this event source only, as `report --source`. */
  source?: string;
  /** The clock (tests). */
  now?: number;
}

const FORMATS = { md: auditMarkdown, html: auditHtml } as const;

/** `goodhart audit`: the month's audit for finance and leadership, as Markdown or self-contained HTML. */
export async function runAuditReport(opts: AuditReportOptions): Promise<string> {
  const format = opts.format ?? 'md';
  if (!(format in FORMATS)) throw new GoodhartError('invalid_request', 400, `--format: use md or html, got "${format}".`);
  const source = opts.source === undefined ? undefined : sourceOption(opts.source);
  const { config } = resolveConfig(opts);
  const now = opts.now ?? Date.now();
  const period = opts.period ?? formatWallTime(now, config.timeZone).slice(0, 7);
  const store = await openStore(resolveDb(opts, config), { mustExist: true, readOnly: true });
  const sources = await openReportSources(config, store);
  try {
    // Team, person and model names come from the store: their control characters are shown, not sent to a terminal.
    return visibleText(FORMATS[format as keyof typeof FORMATS](await collectAudit(sources, { period, now, source })));
  } finally {
    await sources.close();
    await store.close();
  }
}

export function registerAuditReport(program: Command): void {
  program
    .command('audit')
    .description('Monthly audit for finance and leadership: spend and trend, budgets and forecasts, findings, cost per outcome, routing savings, model mix')
    .option('--period <YYYY-MM>', 'the month (default: the current one, in the config’s timeZone)')
    .option('--format <md|html>', 'Markdown, or one self-contained HTML file with charts', 'md')
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--source <source>', `spend of this source only (${EVENT_SOURCES.join(', ')}); default: every source added up`)
    .option('--config <file>', 'YAML config (budgets, time zone)')
    .option('--db <path>', 'database (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .action(async (o: AuditReportOptions) => {
      const text = await runAuditReport(o);
      if (o.out !== undefined) {
        writeFileSync(o.out, text);
        process.stderr.write(`Wrote ${o.out}\n`);
      } else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    });
}

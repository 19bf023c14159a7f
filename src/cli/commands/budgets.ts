import type { Command } from 'commander';
import type { BudgetConfig } from '../../policy/config.js';
import { adminCall, adminOptions, say, list, num, numList, print, unsetBody, type AdminOptions } from '../admin-client.js';

interface SetOptions extends AdminOptions {
  scope?: string;
  amount?: number;
  unit?: string;
  period?: string;
  thresholds?: number[];
  action?: string;
  downgradeTo?: string;
  downgradeAt?: number;
  hybridPercentile?: number;
  hybridLookback?: number;
  contact?: string;
  unset?: string[];
}

/** A budget's fields `budgets set --unset` may remove (scope and amount are required). */
const UNSETTABLE = ['unit', 'period', 'thresholds', 'action', 'downgradeTo', 'downgradeAt', 'hybrid', 'contact'];

/**
 * The admin API's PATCH body for `budgets set`: only what was given (a new budget gets the config schema's defaults,
 * an existing one keeps the rest), and null for each `--unset` field (back to its default, or gone).
 */
export function budgetBody(o: SetOptions): Record<string, unknown> {
  const body: Record<string, unknown> = unsetBody(o.unset, UNSETTABLE);
  if (o.scope !== undefined) body['scope'] = o.scope;
  if (o.amount !== undefined) body['amount'] = o.amount;
  if (o.unit !== undefined) body['unit'] = o.unit;
  if (o.period !== undefined) body['period'] = o.period;
  if (o.thresholds !== undefined) body['thresholds'] = o.thresholds;
  if (o.action !== undefined) body['action'] = o.action;
  if (o.downgradeTo !== undefined) body['downgradeTo'] = o.downgradeTo;
  if (o.downgradeAt !== undefined) body['downgradeAt'] = o.downgradeAt;
  if (o.hybridPercentile !== undefined || o.hybridLookback !== undefined) {
    body['hybrid'] = {
      ...(o.hybridPercentile !== undefined ? { percentile: o.hybridPercentile } : {}),
      ...(o.hybridLookback !== undefined ? { lookback: o.hybridLookback } : {}),
    };
  }
  if (o.contact !== undefined) body['contact'] = o.contact;
  return body;
}

/** `budgets set` without --json: what now applies, in one line (the admin API answers with the stored budget). */
export function budgetLine(saved: { id: string; data: BudgetConfig }): string {
  const b = saved.data;
  const amount = b.unit === 'tokens' ? `${b.amount.toLocaleString('en-US')} tokens` : `$${b.amount.toFixed(2)}`;
  const period = b.period === 'none' ? 'in all' : `a ${b.period}`;
  const hybrid = b.hybrid ? ` plus the p${b.hybrid.percentile} of the last ${b.hybrid.lookback} ${b.period}s` : '';
  const downgradeTo = typeof b.downgradeTo === 'string' ? b.downgradeTo : Object.entries(b.downgradeTo ?? {}).map(([p, m]) => `${p}: ${m}`).join(', ');
  const action = b.action === 'downgrade' ? `downgrades to ${downgradeTo} from ${b.downgradeAt}%, blocks at 100%` : 'blocks at the cap';
  return `Budget ${saved.id} set: ${b.scope}, ${amount} ${period}${hybrid}; ${action}; alerts at ${b.thresholds.join('/')}%. It applies at once.`;
}

export function registerBudgets(program: Command): void {
  const budgets = program.command('budgets').description('Budgets: list, status, set, delete, reset (through the admin API of a running gateway)');
  adminOptions(budgets.command('list').description('Budgets in force (config and admin API)')).action(async (o: AdminOptions) => {
    const { data } = await adminCall(o, 'GET', '/budgets');
    print(
      o,
      data,
      ['id', 'scope', 'amount', 'unit', 'period', 'action', 'thresholds', 'source'],
      data.map((b: any) => [b.id, b.data.scope, b.data.amount, b.data.unit ?? 'usd', b.data.period ?? 'month', b.data.action ?? 'block', (b.data.thresholds ?? [50, 80, 100]).join('/'), b.source]),
    );
  });
  adminOptions(budgets.command('status').description('Where each budget stands now: spent, reserved by requests in flight, left')).action(
    async (o: AdminOptions) => {
      const { data } = await adminCall(o, 'GET', '/status/budgets');
      print(
        o,
        data,
        ['budget', 'scope', 'amount', 'spent', 'reserved', 'remaining', 'resets'],
        // Token budgets in whole tokens, USD ones to the micro-dollar.
        data.map((s: any) => {
          const fmt = (n: number): string => (s.unit === 'tokens' ? String(Math.round(n)) : n.toFixed(6));
          return [s.budget, s.scope, s.amount, fmt(s.spent), fmt(s.reserved), fmt(s.remaining), s.resetsAt ?? 'never'];
        }),
      );
    },
  );
  adminOptions(
    budgets
      .command('set <id>')
      .description('Create a budget (--scope and --amount needed), or change the fields given of one (the others are kept); it applies at once, and the change is audited')
      .option('--scope <scope>', 'org, team:ID, user:ID, project:ID, key:ID or tag:TAG (ID * = one per value)')
      .option('--amount <n>', 'USD, or tokens with --unit tokens', num('--amount'))
      .option('--unit <unit>', 'usd (default) or tokens')
      .option('--period <period>', 'day, week, month (default), quarter, year or none')
      .option('--thresholds <list>', 'alert percentages, e.g. 50,80,100', numList('--thresholds'))
      .option('--action <action>', 'at the cap: block (default) or downgrade')
      .option('--downgrade-to <model>', 'the cheaper model (or tier) for action downgrade')
      .option('--downgrade-at <percent>', 'from this percentage requests are downgraded (default 80)', num('--downgrade-at'))
      .option('--hybrid-percentile <p>', 'hybrid budget: add this percentile of trailing spend', num('--hybrid-percentile'))
      .option('--hybrid-lookback <n>', 'hybrid budget: over this many past periods', num('--hybrid-lookback'))
      .option('--contact <text>', 'whom to ask for more (shown when the budget refuses)')
      .option('--unset <fields>', `remove fields (those with a default go back to it): ${UNSETTABLE.join(', ')}`, list),
  ).action(async (id: string, o: SetOptions) => {
    const saved = await adminCall(o, 'PATCH', `/budgets/${encodeURIComponent(id)}`, budgetBody(o));
    if (o.json) print(o, saved);
    else say(budgetLine(saved));
  });
  adminOptions(budgets.command('delete <id>').description('Remove a budget (also one the config declares)')).action(async (id: string, o: AdminOptions) => {
    await adminCall(o, 'DELETE', `/budgets/${encodeURIComponent(id)}`);
    // The API answers 204 with no body: --json says what was deleted.
    if (o.json) print(o, { kind: 'budget', id, deleted: true });
    else say(`Deleted budget ${id}.`);
  });
  adminOptions(
    budgets.command('reset <id>').description('Hand a budget back to the config file: forget what the admin API set or deleted of it'),
  ).action(async (id: string, o: AdminOptions) => {
    const r = await adminCall(o, 'DELETE', `/budgets/${encodeURIComponent(id)}/override`);
    if (o.json) print(o, r);
    else if (r.inForce === null) process.stdout.write(`Budget ${id} is gone: the config file does not declare it.\n`);
    else process.stdout.write(`${budgetLine(r.inForce).replace(/ set: /, ' is as the config file declares it again: ')}\n`);
  });
}

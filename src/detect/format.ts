import { formatWallTime } from '../report/dates.js';
import { plural } from '../report/format.js';
import { drawTable } from '../report/table.js';
import type { Finding, RuleId } from './types.js';

/** Terminal output for findings: numbers and suggestions, never text from anyone's prompts (none is stored). */
export function formatFindingsTable(findings: readonly Finding[], timeZone: string): string {
  if (findings.length === 0) return 'No findings match.';
  const table = drawTable(
    {
      head: [`Start (${timeZone})`, 'Rule', 'Subject', 'Wasted USD', 'Conf.', 'What happened'],
      aligns: ['left', 'left', 'left', 'right', 'right', 'left'],
      colWidths: [null, null, null, null, null, 70],
      compact: true,
    },
    findings.map((f) => [
      formatWallTime(f.start, timeZone),
      f.rule,
      `${f.subject.kind} ${f.subject.id}`,
      f.wastedUsd.toFixed(2),
      f.confidence.toFixed(2),
      [f.summary, `→ ${f.suggestion}`],
    ]),
  );
  const wasted = findings.reduce((a, f) => a + f.wastedUsd, 0);
  return `${table}\n${plural(findings.length, 'finding')}, estimated avoidable spend $${wasted.toFixed(2)}.`;
}

/** Per rule: how many findings and the estimated waste. */
export function summariseFindings(findings: readonly Finding[]): Map<RuleId, { findings: number; wastedUsd: number }> {
  const out = new Map<RuleId, { findings: number; wastedUsd: number }>();
  for (const f of findings) {
    const s = out.get(f.rule) ?? { findings: 0, wastedUsd: 0 };
    s.findings++;
    s.wastedUsd += f.wastedUsd;
    out.set(f.rule, s);
  }
  return out;
}

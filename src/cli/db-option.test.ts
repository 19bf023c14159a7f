import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerAuditReport } from './commands/audit-report.js';
import { registerDetect, registerFindings } from './commands/detect.js';
import { registerDigest } from './commands/digest.js';
import { registerEvents } from './commands/events.js';
import { registerImport } from './commands/import.js';
import { registerKeys } from './commands/keys.js';
import { registerOutcomes } from './commands/outcomes.js';
import { registerReport } from './commands/report.js';
import { registerRouting } from './commands/routing.js';
import { registerServe } from './commands/serve.js';

/** Every command's --db help says what it falls back to, in the order the commands use (context.ts resolveDb). */
describe('--db help', () => {
  it("names the config's db first, then $GOODHART_DB, then the default file", () => {
    const program = new Command();
    for (const register of [registerServe, registerImport, registerDetect, registerFindings, registerReport, registerEvents, registerKeys, registerRouting, registerOutcomes, registerAuditReport, registerDigest]) {
      register(program);
    }
    const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
    const helps = all(program).flatMap((c) => c.options.filter((o) => o.long === '--db').map((o) => [c.name(), o.description] as const));
    expect(helps.length).toBeGreaterThan(12);
    for (const [name, help] of helps) expect(`${name}: ${help}`).toMatch(/\(default: the config’s db, else \$GOODHART_DB, else \.\/\.goodhart\/goodhart\.db\)$/);
  });
});

import type { Command } from 'commander';
import { parsePort } from './serve.js';

function nonNegative(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number ≥ 0 (got "${v}")`);
  return n;
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('Run the simulated provider alone (OpenAI and Anthropic wire formats; keys sk-sim-openai / sk-ant-sim)')
    .option('--port <n>', 'port (default: a free one)')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--first-token-ms <ms>', 'delay before the first token')
    .option('--inter-token-ms <ms>', 'delay between stream chunks')
    .action(async (opts: { port?: string; host: string; firstTokenMs?: string; interTokenMs?: string }) => {
      const { startSimProvider } = await import('../../sim/index.js');
      const sim = await startSimProvider({
        port: parsePort(opts.port) ?? 0,
        host: opts.host,
        firstTokenMs: nonNegative('--first-token-ms', opts.firstTokenMs) ?? 0,
        interTokenMs: nonNegative('--inter-token-ms', opts.interTokenMs) ?? 0,
      });
      process.stdout.write(`${sim.url}\n`);
      const stop = () => void sim.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}

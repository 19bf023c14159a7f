/**
 * OTLP receiver benchmark: how long one export request holds the gateway's event loop (what every request being
 * proxied at that moment waits), and how fast records are stored, for Claude Code `api_request` log batches of growing
 * size, gzipped JSON as the OpenTelemetry SDK sends them.
 *
 *   npx tsx bench/otlp/run.ts [--sizes 1000,10000,60000]
 *
 * Two gateways run in this process: one on a SQLite file, where export requests are processed on the OTLP thread
 * (src/importers/otlp/thread.ts), and one on an in-memory store, where they are processed on the gateway's thread
 * (as every store did before the thread). The stall is the longest event-loop delay (monitorEventLoopDelay, 1 ms
 * resolution) from sending the request until 300 ms after its answer (an inline batch's events are written after).
 * With the thread, what remains of it is the gateway's thread waiting for a core while the OTLP thread has one (two
 * cores here): a CPU profile of that run shows no stretch of work over 2 ms on the gateway's thread meanwhile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import Table from 'cli-table3';
import { configSchema } from '../../src/config/schema.js';
import { createGateway } from '../../src/gateway/server.js';
import { newKey } from '../../src/keys/keys.js';
import { openStore } from '../../src/store/open.js';

const { values: args } = parseArgs({ options: { sizes: { type: 'string', default: '1000,10000,60000' } } });
const SIZES = args.sizes!.split(',').map(Number);

const kv = (key: string, v: string | number) => ({ key, value: typeof v === 'string' ? { stringValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } });

/** `n` api_request log events of 50 sessions, each with its own request id. */
function batch(n: number, seed: number): Buffer {
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const logRecords = Array.from({ length: n }, (_, i) => ({
    timeUnixNano: String(t0 + BigInt(i) * 1_000_000n),
    body: { stringValue: 'claude_code.api_request' },
    attributes: [
      kv('event.name', 'api_request'), kv('session.id', `s${seed}-${i % 50}`), kv('user.email', 'ada@example.com'), kv('model', 'claude-sonnet-4-5'),
      kv('input_tokens', 1200 + (i % 300)), kv('output_tokens', 300 + (i % 90)), kv('cache_read_tokens', 20_000), kv('cache_creation_tokens', 500),
      kv('cost_usd', 0.0123), kv('duration_ms', 4200), kv('request_id', `req_${seed}_${i}`),
    ],
  }));
  const body = { resourceLogs: [{ resource: { attributes: [kv('service.name', 'claude-code'), kv('service.version', '2.1.97')] }, scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords }] }] };
  return gzipSync(JSON.stringify(body));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'goodhart-bench-otlp-'));
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const table = new Table({ head: ['store (where OTLP is processed)', 'records', 'gzip', 'answer ms', 'records/s', 'gateway stall ms'], style: { head: [], border: [] } });
  try {
    for (const [name, location] of [['SQLite file (OTLP thread)', join(dir, 'bench.db')], ['in memory (gateway thread)', ':memory:']] as const) {
      const store = await openStore(location);
      const made = newKey({ userId: 'bench', teamId: 'perf' });
      await store.createKey(made.record);
      const config = configSchema.parse({ providers: { openai: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'unused' } }, detect: { live: { enabled: false } } });
      const gateway = await createGateway({ config, store });
      const url = await gateway.listen(0, '127.0.0.1');
      await gateway.keys.refresh();
      try {
        // A small batch first: the thread's start and the code's first compile are not what is measured.
        for (const [i, n] of [100, ...SIZES].entries()) {
          const gz = batch(n, i);
          loop.reset();
          const t0 = performance.now();
          const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers: { authorization: `Bearer ${made.key}`, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gz });
          await res.text();
          const ms = performance.now() - t0;
          if (res.status !== 200) throw new Error(`${name}: ${res.status}`);
          await new Promise((r) => setTimeout(r, 300));
          if (i === 0) continue;
          table.push([name, n.toLocaleString('en-US'), `${(gz.length / 1e6).toFixed(2)} MB`, ms.toFixed(0), Math.round(n / (ms / 1000)).toLocaleString('en-US'), (loop.max / 1e6).toFixed(1)]);
        }
      } finally {
        await gateway.close();
        await store.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`OTLP receiver: Claude Code api_request log batches, gzipped OTLP/JSON; node ${process.version}; ${new Date().toISOString()}`);
  console.log(table.toString());
}

await main();

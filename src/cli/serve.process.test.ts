import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey } from '../keys/keys.js';
import { startSimProvider, type SimProvider } from '../sim/index.js';
import { openStore } from '../store/open.js';

const MAIN = new URL('./main.ts', import.meta.url).pathname;

function serve(args: string[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string; output: () => string; stdout: () => string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let stdout = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]!, output: () => out, stdout: () => stdout });
    };
    proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

let sim: SimProvider;
let dir: string;
beforeAll(async () => {
  sim = await startSimProvider({ interTokenMs: 2 });
  dir = mkdtempSync(join(tmpdir(), 'goodhart-serve-'));
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A config naming the simulator, a database file, and alice's key in it. */
async function prepare(name: string, dbFile: string, opts: { anthropic?: boolean } = {}): Promise<{ cfg: string; db: string; key: string }> {
  const cfg = join(dir, `${name}.yaml`);
  const anthropic = opts.anthropic === true ? `  anthropic: { type: anthropic, baseUrl: "${sim.url}", apiKey: sk-ant-sim }\n` : '';
  writeFileSync(cfg, `providers:\n  openai: { type: openai, baseUrl: "${sim.url}/v1", apiKey: sk-sim-openai }\n${anthropic}`);
  const db = join(dir, dbFile);
  const store = await openStore(db);
  const { key, record } = newKey({ userId: 'alice', teamId: 'platform' });
  await store.createKey(record);
  await store.close();
  return { cfg, db, key };
}

describe('goodhart serve as a process', () => {
  it('writes every acknowledged usage event before exiting on SIGTERM, including requests still streaming', async () => {
    const { cfg, db, key } = await prepare('goodhart', 'g.db');

    const { proc, url } = await serve(['--config', cfg, '--db', db, '--port', '0']);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
    const quick = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `q${i}` }] }),
      ),
    );
    // Streams in flight when the signal arrives must finish and be metered too.
    const streams = await Promise.all(
      Array.from({ length: 5 }, () =>
        client.chat.completions.create({
          model: 'gpt-4o-mini',
          stream: true,
          messages: [{ role: 'user', content: 'long [[sim:tokens=300]]' }],
        }),
      ),
    );
    const exited = new Promise<number | null>((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    let streamed = 0;
    for (const s of streams) for await (const c of s) streamed += c.choices.length;
    expect(await exited).toBe(0);
    expect(streamed).toBeGreaterThan(5 * 50);

    const after = await openStore(db);
    const events = await after.listEvents({});
    await after.close();
    expect(events).toHaveLength(45);
    expect(events.filter((e) => e.streamed && !e.usageEstimated)).toHaveLength(5);
    const promptTokens = quick.reduce((a, r) => a + r.usage!.prompt_tokens, 0);
    expect(events.filter((e) => !e.streamed).reduce((a, e) => a + e.inputTokens, 0)).toBe(promptTokens);
  }, 60_000);

  it('drains on SIGHUP too, answering requests that arrive meanwhile with a 503 in the client\'s format', async () => {
    const { cfg, db, key } = await prepare('hup', 'hup.db', { anthropic: true });
    const { proc, url, output } = await serve(['--config', cfg, '--db', db, '--port', '0']);
    // Requests already arriving when the signal comes (their first bytes sent): answered, in their wire's format.
    const arriving = (path: string, body: object) => {
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      const text = JSON.stringify(body);
      socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\n`);
      let response = '';
      socket.on('data', (d: Buffer) => (response += d.toString()));
      const ended = new Promise<void>((r) => socket.once('close', () => r()));
      return {
        finish: () => socket.write(`Content-Type: application/json\r\nAuthorization: Bearer ${key}\r\nanthropic-version: 2023-06-01\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`),
        response: () => ended.then(() => response),
      };
    };
    const chat = arriving('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'late' }] });
    const msg = arriving('/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'late' }] });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'long [[sim:tokens=300]]' }] });
    const exited = new Promise<number | null>((r) => proc.once('exit', r));
    proc.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 200));
    chat.finish();
    msg.finish();
    const late = await chat.response();
    expect(late).toMatch(/^HTTP\/1\.1 503 /);
    expect(late).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(late.slice(late.indexOf('\r\n\r\n') + 4)).error.message).toMatch(/^This Goodhart server is shutting down/);
    const lateMsg = await msg.response();
    expect(lateMsg).toMatch(/^HTTP\/1\.1 503 /);
    expect(JSON.parse(lateMsg.slice(lateMsg.indexOf('\r\n\r\n') + 4))).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringMatching(/shutting down/) } });
    let chunks = 0;
    for await (const c of stream) chunks += c.choices.length;
    expect(chunks).toBeGreaterThan(50);
    expect(await exited).toBe(0);
    expect(output()).toMatch(/SIGHUP: Goodhart does not reload its config/);
    const after = await openStore(db);
    const events = await after.listEvents({});
    await after.close();
    // The stream that finished during the drain (the two refused were turned away before their key was read).
    expect(events.map((e) => [e.status, e.streamed, e.usageEstimated])).toEqual([[200, true, false]]);
  }, 60_000);

  it('exits on SIGTERM without waiting for connections that never sent a request', async () => {
    const { cfg, db, key } = await prepare('silent', 'silent.db');
    const { proc, url } = await serve(['--config', cfg, '--db', db, '--port', '0']);
    // What an HTTP client's pool may hold: a connection opened ahead of use. Node guards it with its headers timeout
    // (a minute), which held the drain, and the events of answered requests with it, until then.
    const silent = connect(Number(new URL(url).port), '127.0.0.1');
    const silentClosed = new Promise<void>((r) => silent.once('close', () => r()));
    silent.on('error', () => {});
    await new Promise<void>((r) => silent.once('connect', () => r()));
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
    const answered = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const exited = new Promise<string>((r) => proc.once('exit', (code) => r(`exit ${code}`)));
    proc.kill('SIGTERM');
    const timer = new Promise<string>((r) => setTimeout(() => r('still draining after 15 s'), 15_000).unref());
    expect(await Promise.race([exited, timer])).toBe('exit 0');
    await silentClosed;
    const after = await openStore(db);
    const events = await after.listEvents({});
    await after.close();
    expect(events.map((e) => e.inputTokens)).toEqual([answered.usage!.prompt_tokens]);
  }, 30_000);

  it('drains when its terminal goes away, though every write to the terminal then fails', async () => {
    const { cfg, db, key } = await prepare('tty', 'tty.db');
    // `script` runs serve on a terminal of its own (a pty); killing it closes the terminal as a dropped ssh session
    // does: serve gets SIGHUP, and its log lines after that fail with EIO (which used to end the process at once).
    const command = [process.execPath, '--import', 'tsx', MAIN, 'serve', '--config', cfg, '--db', db, '--port', '0'].join(' ');
    const term = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHELL: '/bin/bash' } });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      term.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/[^\s]+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      term.once('exit', () => reject(new Error(`script exited: ${out}`)));
    });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'long [[sim:tokens=300]]' }] });
    term.kill('SIGKILL');
    let chunks = 0;
    for await (const c of stream) chunks += c.choices.length;
    expect(chunks).toBeGreaterThan(50);
    // Gone once drained: no process serves this database any more.
    const serving = () => spawnSync('pgrep', ['-f', db]).status === 0;
    for (let i = 0; i < 150 && serving(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(serving()).toBe(false);
    const after = await openStore(db);
    const events = await after.listEvents({});
    await after.close();
    expect(events.map((e) => [e.status, e.streamed, e.usageEstimated, e.outputTokens])).toEqual([[200, true, false, 300]]);
  }, 30_000);

  it('logs JSON lines to stderr, as the README says, and never a key', async () => {
    const { cfg, db, key } = await prepare('log', 'log.db');
    const { proc, url, output, stdout } = await serve(['--config', cfg, '--db', db, '--port', '0'], { GOODHART_LOG_LEVEL: 'info' });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const exited = new Promise<number | null>((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = output().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.map((l) => JSON.parse(l) as { req?: { url?: string } }).filter((l) => l.req?.url === '/v1/chat/completions')).toHaveLength(1);
    expect(stdout()).toBe('');
    expect(output()).not.toContain(key);
    expect(output()).not.toContain('sk-sim-openai');
  }, 30_000);

  it('refuses to start on an invalid config, naming the problem, with exit code 78', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'server:\n  port: "eighty"\n');
    await expect(serve(['--config', bad, '--db', join(dir, 'x.db')])).rejects.toThrow(/exited with 78: .*bad\.yaml.*server\.port \(line 2\)/s);
  });

  it('says what to do, without a stack trace, for a port in use and a file that is not a database', async () => {
    const cfg = join(dir, 'plain.yaml');
    writeFileSync(cfg, `providers:\n  openai: { type: openai, baseUrl: "${sim.url}/v1", apiKey: sk-sim-openai }\n`);
    const port = new URL(sim.url).port;
    const inUse = await serve(['--config', cfg, '--db', join(dir, 'p.db'), '--port', port], { npm_lifecycle_event: 'demo' }).catch((e: Error) => e.message);
    expect(inUse).toMatch(/exited with 78: goodhart: Cannot listen on 127\.0\.0\.1:\d+: the port is in use.*choose another port with --port N \(through npm: npm run demo -- --port N\)/s);
    expect(inUse).not.toMatch(/\n\s+at /);
    const notDb = join(dir, 'notes.txt');
    writeFileSync(notDb, 'not a database, '.repeat(100));
    const wrongFile = await serve(['--config', cfg, '--db', notDb, '--port', '0']).catch((e: Error) => e.message);
    expect(wrongFile).toMatch(/exited with 78: goodhart: .*notes\.txt is not a SQLite database/s);
    expect(wrongFile).not.toMatch(/\n\s+at /);
  });
});

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { registerInit, schemaReference } from './init.js';

const dir = mkdtempSync(join(tmpdir(), 'goodhart-init-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('goodhart init', () => {
  it("names the installed goodhart's JSON Schema by a path that resolves from the written file", async () => {
    const file = join(dir, 'sub', 'goodhart.yaml');
    mkdirSync(dirname(file));
    const program = new Command().exitOverride();
    registerInit(program);
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'goodhart', 'init', '--file', file]);
    } finally {
      spy.mockRestore();
    }
    const text = readFileSync(file, 'utf8');
    const ref = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)?.[1];
    expect(ref).toMatch(/^\.\.\/.*schema\/goodhart\.schema\.json$/);
    expect(existsSync(resolve(dirname(file), ref!))).toBe(true);
    expect(Object.keys(parseConfig(text, file, {}, 'read').providers)).toEqual(['openai', 'anthropic']);
  });

  it("is ./node_modules/goodhart/… for a project's own install", () => {
    expect(schemaReference('/work/app/goodhart.yaml', '/work/app/node_modules/goodhart/schema/goodhart.schema.json')).toBe('./node_modules/goodhart/schema/goodhart.schema.json');
    expect(schemaReference('/work/app/goodhart.yaml', '/usr/lib/node_modules/goodhart/schema/goodhart.schema.json')).toBe('../../usr/lib/node_modules/goodhart/schema/goodhart.schema.json');
  });
});

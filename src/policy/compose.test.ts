import { describe, expect, it } from 'vitest';
import { GoodhartError } from '../errors.js';
import { composePolicies } from './compose.js';
import type { AdmissionRequest, AdmissionResult, Policy } from './types.js';

const req = {
  key: { id: 'k1', hash: '', prefix: '', userId: 'alice', teamId: 'platform', projectId: null, name: null, createdAt: 0, revokedAt: null },
  endpoint: 'chat.completions',
  model: 'gpt-5',
  provider: 'openai',
  providerType: 'openai',
  tags: [],
  body: {},
  bodyBytes: 10,
  headers: {},
  now: 0,
} satisfies AdmissionRequest;

const outcome = { usage: null, costUsd: 0.5, model: 'gpt-5-mini' };

function recorder(name: string, log: string[], result: Partial<AdmissionResult> = {}, async = false): Policy {
  return {
    admit(r) {
      log.push(`${name}.admit(${r.model})`);
      const res: AdmissionResult = {
        headers: {},
        ...result,
        settle: (o) => log.push(`${name}.settle(${o.costUsd})`),
      };
      return async ? Promise.resolve(res) : res;
    },
  };
}

describe('composePolicies', () => {
  it('admits in order, passing each the model chosen so far; merges headers; settles all once', () => {
    const log: string[] = [];
    const p = composePolicies(
      recorder('budget', log, { model: 'gpt-5-mini', headers: { 'x-budget': '1', 'x-both': 'budget' } }),
      recorder('routing', log, { model: 'gpt-5-nano', headers: { 'x-both': 'routing' } }),
      recorder('audit', log),
    );
    const r = p.admit(req) as AdmissionResult;
    expect(r).not.toBeInstanceOf(Promise);
    expect(r.model).toBe('gpt-5-nano');
    expect(r.headers).toEqual({ 'x-budget': '1', 'x-both': 'routing' });
    r.settle(outcome);
    r.settle(outcome);
    expect(log).toEqual([
      'budget.admit(gpt-5)',
      'routing.admit(gpt-5-mini)',
      'audit.admit(gpt-5-nano)',
      'budget.settle(0.5)',
      'routing.settle(0.5)',
      'audit.settle(0.5)',
    ]);
  });

  it('returns no model when nobody changed it', () => {
    const r = composePolicies(recorder('a', []), recorder('b', [])).admit(req) as AdmissionResult;
    expect(r.model).toBeUndefined();
  });

  it('releases the policies already admitted when a later one refuses, and rethrows the refusal', () => {
    const log: string[] = [];
    const refuse: Policy = {
      admit() {
        throw new GoodhartError('budget_exceeded', 429, 'over budget');
      },
    };
    const p = composePolicies(recorder('first', log), refuse, recorder('never', log));
    expect(() => p.admit(req)).toThrow('over budget');
    expect(log).toEqual(['first.admit(gpt-5)', 'first.settle(0)']);
  });

  it('goes asynchronous only when a policy does, and releases on an async refusal', async () => {
    const log: string[] = [];
    const p = composePolicies(recorder('sync', log), recorder('async', log, { model: 'gpt-5-mini' }, true), recorder('last', log));
    const r = await p.admit(req);
    expect(r.model).toBe('gpt-5-mini');
    expect(log).toEqual(['sync.admit(gpt-5)', 'async.admit(gpt-5)', 'last.admit(gpt-5-mini)']);

    const log2: string[] = [];
    const failing: Policy = { admit: () => Promise.reject(new GoodhartError('rate_limited', 429, 'slow down')) };
    await expect(composePolicies(recorder('held', log2), failing).admit(req)).rejects.toThrow('slow down');
    expect(log2).toEqual(['held.admit(gpt-5)', 'held.settle(0)']);
  });

  it('settles every policy even when one settle throws, then reports it', () => {
    const log: string[] = [];
    const broken: Policy = { admit: () => ({ headers: {}, settle: () => { throw new Error('boom'); } }) };
    const r = composePolicies(broken, recorder('after', log)).admit(req) as AdmissionResult;
    expect(() => r.settle(outcome)).toThrow('boom');
    expect(log).toContain('after.settle(0.5)');
  });
});

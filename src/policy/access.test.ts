import { describe, expect, it } from 'vitest';
import { checkAccess, TierIndex, type Grant } from './access.js';

const tiers = new TierIndex({ economy: ['gpt-4o-mini', 'claude-haiku-*'], premium: ['gpt-5', 'claude-opus-*'] });
const member = { tiers: ['economy'], permissions: [] };
const grant = (g: Partial<Grant>): Grant => ({
  id: 'g',
  userId: 'alice',
  tier: null,
  model: null,
  createdAt: 0,
  expiresAt: 1000,
  grantedBy: 'user:lead',
  requestId: null,
  ...g,
});

describe('tiers, roles and grants', () => {
  it('maps models to tiers by name or glob, with or without a provider prefix', () => {
    expect(tiers.tierOf('claude-haiku-4-5')).toBe('economy');
    expect(tiers.tierOf('openai/gpt-5')).toBe('premium');
    expect(tiers.tierOf('gpt-4.1')).toBeNull();
    expect(tiers.concreteModel('economy')).toBe('gpt-4o-mini');
  });

  it('refuses a tier the role lacks, saying how to ask', () => {
    const d = checkAccess({ model: 'gpt-5', tier: 'premium', roleId: 'member', role: member, grants: [], now: 0, untiered: 'allow' });
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.message).toContain('"premium" tier, which your role "member" does not include (you may use: economy)');
      expect(d.message).toContain('goodhart access request --tier premium');
    }
  });

  it('a grant opens a tier or a single model until it expires', () => {
    const base = { roleId: 'member', role: member, untiered: 'allow' as const };
    expect(checkAccess({ ...base, model: 'gpt-5', tier: 'premium', grants: [grant({ tier: 'premium' })], now: 999 })).toEqual({ ok: true, via: 'grant' });
    expect(checkAccess({ ...base, model: 'gpt-5', tier: 'premium', grants: [grant({ tier: 'premium' })], now: 1000 }).ok).toBe(false);
    expect(checkAccess({ ...base, model: 'gpt-5', tier: 'premium', grants: [grant({ model: 'gpt-5' })], now: 1 }).ok).toBe(true);
    expect(checkAccess({ ...base, model: 'claude-opus-4-1', tier: 'premium', grants: [grant({ model: 'gpt-5' })], now: 1 }).ok).toBe(false);
  });

  it('untiered models are allowed, or refused when the config says so', () => {
    const base = { model: 'gpt-4.1', tier: null, roleId: 'member', role: member, grants: [], now: 0 };
    expect(checkAccess({ ...base, untiered: 'allow' }).ok).toBe(true);
    expect(checkAccess({ ...base, untiered: 'deny' }).ok).toBe(false);
  });
});

describe("the README's tier example", () => {
  it('puts dated snapshots and variants in their tier, the first tier listing a model winning', () => {
    const t = new TierIndex({
      economy: ['gpt-4o-mini*', 'gpt-4.1-nano*', 'gpt-5-nano*', 'claude-haiku-*'],
      standard: ['gpt-4.1*', 'gpt-5-mini*', 'claude-sonnet-*'],
      premium: ['gpt-5*', 'o3*', 'o1*', 'claude-opus-*'],
    });
    const of = (models: string[]) => models.map((m) => t.tierOf(m));
    expect(of(['gpt-5-2025-08-07', 'gpt-5-pro', 'o3-pro', 'openai/gpt-5'])).toEqual(['premium', 'premium', 'premium', 'premium']);
    expect(of(['gpt-5-mini-2025-08-07', 'gpt-4.1', 'gpt-4.1-2025-04-14', 'claude-sonnet-4-5'])).toEqual(['standard', 'standard', 'standard', 'standard']);
    expect(of(['gpt-4.1-nano', 'gpt-4o-mini-2024-07-18', 'gpt-5-nano'])).toEqual(['economy', 'economy', 'economy']);
  });
});

import { configSchema, type GoodhartConfig, type GoodhartConfigInput } from '../config/schema.js';
import type { CountedOutcome } from './counted.js';
import type { OutcomeEvent } from './event.js';
import type { SpendSlice } from './slices.js';

/** Test helpers: a validated config, and plausible outcomes and slices to override. */
export function testConfig(input: GoodhartConfigInput = {}): GoodhartConfig {
  return configSchema.parse(input);
}

let n = 0;

export function makeOutcome(o: Partial<OutcomeEvent> = {}): OutcomeEvent {
  n += 1;
  return {
    id: `o${n}`,
    kind: 'commit',
    userId: 'ann',
    teamId: 'core',
    repo: 'github.com/acme/app',
    sessionId: null,
    at: Date.parse('2026-03-10T12:00:00Z'),
    count: 1,
    source: 'git',
    attrs: {},
    ...o,
  };
}

export function counted(o: Partial<OutcomeEvent> = {}): CountedOutcome {
  const x = makeOutcome(o);
  if (x.kind !== 'commit' && x.kind !== 'pull_request_merged' && x.kind !== 'ticket_closed' && x.kind !== 'deployment' && x.kind !== 'custom') {
    throw new Error(`not a shipped kind: ${x.kind}`);
  }
  return { ...x, kind: x.kind, tickets: x.tickets ?? [] };
}

export function makeSlice(s: Partial<SpendSlice> = {}): SpendSlice {
  const start = s.start ?? Date.parse('2026-03-10T09:00:00Z');
  return {
    userId: 'ann',
    teamId: 'core',
    projectId: null,
    repo: null,
    branch: null,
    tasks: [],
    start,
    end: start + 600_000,
    costUsd: 10,
    tokens: 100_000,
    requests: 20,
    ...s,
  };
}

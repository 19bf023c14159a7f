import { agentCircle } from './agent-circle/index.js';
import { contextBloat } from './context-bloat/index.js';
import { fanOut } from './fan-out/index.js';
import { idleLoop } from './idle-loop/index.js';
import { periodEndSurge } from './period-end-surge/index.js';
import { premiumOverkill } from './premium-overkill/index.js';
import { rephraseLoop } from './rephrase-loop/index.js';
import { spendAnomaly } from './spend-anomaly/index.js';
import type { DetectorDefinition, RuleId } from './types.js';

/** Every rule, wired once: a new id in RULE_IDS is a compile error here until its detector exists. */
export const DETECTORS = {
  'rephrase-loop': rephraseLoop,
  'context-bloat': contextBloat,
  'premium-overkill': premiumOverkill,
  'idle-loop': idleLoop,
  'agent-circle': agentCircle,
  'fan-out': fanOut,
  'period-end-surge': periodEndSurge,
  'spend-anomaly': spendAnomaly,
} as const satisfies Record<RuleId, DetectorDefinition>;

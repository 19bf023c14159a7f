import type { AdmissionRequest, AdmissionResult, Policy } from './types.js';

type Outcome = Parameters<AdmissionResult['settle']>[0];

/**
 * Several policies as one (governance, then routing). `admit` runs them in order; each sees the model the ones
 * before it chose (`req.model` is replaced; provider fields stay those of the client's model, so a policy that
 * changes the model should keep it on the same provider, as budget downgrades and routing ladders do). Headers
 * are merged, a later policy's value winning. `settle` settles every admitted policy once, in order.
 *
 * When a policy refuses (throws), the ones already admitted are settled with nothing consumed (releasing their
 * reservations) and the refusal propagates. Stays synchronous while every policy answers synchronously.
 *
 * Order matters: put governance first, so tier and budget checks judge the model the client asked for and a
 * budget downgrade happens before routing looks at the request.
 */
export function composePolicies(...policies: readonly Policy[]): Policy {
  if (policies.length === 1) return policies[0]!;
  return {
    admit(req: AdmissionRequest): AdmissionResult | Promise<AdmissionResult> {
      return admitFrom(policies, 0, req, []);
    },
  };
}

function admitFrom(
  policies: readonly Policy[],
  start: number,
  req: AdmissionRequest,
  done: AdmissionResult[],
): AdmissionResult | Promise<AdmissionResult> {
  for (let i = start; i < policies.length; i++) {
    const current = done.length > 0 ? { ...req, model: currentModel(req, done) } : req;
    let result: AdmissionResult | Promise<AdmissionResult>;
    try {
      result = policies[i]!.admit(current);
    } catch (err) {
      release(done, req);
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(
        (r) => admitFrom(policies, i + 1, req, [...done, r]),
        (err: unknown) => {
          release(done, req);
          throw err;
        },
      );
    }
    done.push(result);
  }
  return combine(req, done);
}

function currentModel(req: AdmissionRequest, done: readonly AdmissionResult[]): string {
  let model = req.model;
  for (const r of done) if (r.model !== undefined) model = r.model;
  return model;
}

function release(done: readonly AdmissionResult[], req: AdmissionRequest): void {
  try {
    settleAll(done, { usage: null, costUsd: 0, model: currentModel(req, done) });
  } catch {
    // The refusal is what the client must see; a failing release cannot be reported in its place.
  }
}

/** Settles every result even when one throws; the first error is rethrown afterwards. */
function settleAll(done: readonly AdmissionResult[], outcome: Outcome): void {
  let first: unknown;
  let failed = false;
  for (const r of done) {
    try {
      r.settle(outcome);
    } catch (err) {
      if (!failed) first = err;
      failed = true;
    }
  }
  if (failed) throw first;
}

function combine(req: AdmissionRequest, done: readonly AdmissionResult[]): AdmissionResult {
  const headers: Record<string, string> = {};
  for (const r of done) Object.assign(headers, r.headers);
  const model = currentModel(req, done);
  // The model to serve after all is the one the last policy that changed the model stepped down from, if it names one.
  const chose = done.findLast((r) => r.model !== undefined);
  let settled = false;
  return {
    ...(model !== req.model ? { model } : {}),
    ...(chose?.fallbackTo !== undefined ? { fallbackTo: chose.fallbackTo } : {}),
    headers,
    settle(outcome) {
      if (settled) return;
      settled = true;
      settleAll(done, outcome);
    },
  };
}

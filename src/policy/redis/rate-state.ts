import { firstRefusal, MINUTE, retryAfterSeconds, type RateLine, type RateRefusal, type RateState } from '../rate-limit.js';
import { neverSent, redisUnavailable, type SharedRedis } from './connection.js';
import { RATE_ADMIT, RATE_SETTLE, Script } from './scripts.js';

/**
 * Rate limits shared by replicas: the same sliding-window approximation as the in-memory RateLimiter, on
 * per-minute keys that expire by themselves. One difference, for robustness: a request's reserved tokens are
 * counted in the minute it was admitted and corrected there when it settles, instead of being held apart as "in
 * flight" (a counter of tokens in flight would leak when a replica dies; a minute's key simply expires).
 */

const admitScript = new Script(RATE_ADMIT);
const settleScript = new Script(RATE_SETTLE);

export class RedisRateState implements RateState {
  constructor(
    private readonly shared: SharedRedis,
    private readonly url: string,
  ) {}

  async admit(lines: readonly RateLine[], tokens: number, now: number): Promise<RateRefusal | null> {
    const args: (string | number)[] = [this.shared.prefix, now, Math.round(tokens), lines.length];
    for (const l of lines) args.push(l.counter, l.rule.rpm ?? '', l.rule.tpm ?? '');
    const reply = (await this.run(admitScript, args)) as (string | number)[];
    if (reply[0] === 0) return null;
    // Six numbers per refusing check: the first is reported, with the wait until every one of them clears.
    const refusals: RateRefusal[] = [];
    for (let at = 1; at + 5 < reply.length; at += 6) {
      const line = lines[Number(reply[at]) - 1]!;
      const what = reply[at + 1] === 1 ? 'rpm' : 'tpm';
      const limit = (what === 'rpm' ? line.rule.rpm : line.rule.tpm) ?? 0;
      const retryAfterS = retryAfterSeconds(Number(reply[at + 4]), Number(reply[at + 5]), what === 'rpm' ? 1 : Math.round(tokens), limit, now);
      refusals.push({ line, what, used: Math.ceil(Number(reply[at + 2])), limit, retryAfterS, tooLarge: reply[at + 3] === 1 });
    }
    return firstRefusal(refusals);
  }

  async settle(lines: readonly RateLine[], reservedTokens: number, actualTokens: number, _now: number, admittedAt: number): Promise<void> {
    const delta = Math.round(actualTokens) - Math.round(reservedTokens);
    const counters = lines.filter((l) => l.rule.tpm !== undefined).map((l) => l.counter);
    if (delta === 0 || counters.length === 0) return;
    // While Redis does not answer, a minute's token correction is dropped rather than logged for every request: the
    // window it corrects is over within a minute (budgets hold their settlements, see RedisBudgetState.hold).
    await this.shared.track(
      this.run(settleScript, [this.shared.prefix, Math.floor(admittedAt / MINUTE), delta, ...counters]).catch((err: unknown) => {
        if (!neverSent(err)) throw err;
      }),
    );
  }

  /** Minute keys expire in Redis. */
  prune(): void {}

  private async run(script: Script, args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await script.run(this.shared.redis, args);
    } catch (err) {
      throw redisUnavailable(this.url, err);
    }
  }
}

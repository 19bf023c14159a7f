/**
 * Budget forecasts: a pure function of a daily spend series, the period's length and the budget's amount.
 * Governance (src/policy) and the dashboard call it with whatever scope the budget has (user, team, project, key).
 *
 * Method: the daily rate is the spend of the last `RATE_DAYS` days (the period's so far, preceded by `history` when
 * the period has just begun) over the time they cover, the current day counted for the part of it that has passed;
 * the spread is the standard deviation of the complete days. Days before the scope's first spend, in the history or
 * the period, are no evidence of a zero rate (a new user, team or deployment): they are left out, so a first day is
 * projected from itself. Over R remaining days the projection's variance
 * is R·σ² (day-to-day noise) + R²·σ²/n (uncertainty of the rate itself). Weekends and holidays are inside σ, which
 * makes the interval honest rather than tight. Exhaustion dates solve spent + rate·t (± the interval) = amount.
 */

export interface ForecastInput {
  /** Spend per day of the current period so far, first day first; the last day may be partial. */
  daily: readonly number[];
  /** How much of the last day has elapsed (0 < f ≤ 1); default 1. */
  lastDayFraction?: number;
  /** Days in the whole period (a 31-day month: 31). */
  periodDays: number;
  /** The budget. */
  amount: number;
  /** Daily spend before the period, oldest first: used for the rate when the period has few days yet. */
  history?: readonly number[];
  /** Coverage of the interval, default 0.8 (10th to 90th percentile). */
  level?: number;
}

export interface Forecast {
  spent: number;
  elapsedDays: number;
  remainingDays: number;
  dailyRate: number;
  /** Projected spend at the period's end, and its interval. */
  projected: number;
  low: number;
  high: number;
  /**
   * Days from the period's start (fractional) when the budget runs out: at the projected rate, at the upper
   * projection (earliest) and at the lower one (latest). Null: not within this period.
   */
  exhaustion: { day: number | null; earliest: number | null; latest: number | null };
  /**
   * Days of observation the rate rests on: the complete days from the scope's first spend (at most RATE_DAYS) and
   * the elapsed part of today. A burst of minutes on a first day is a basis of hours, however it is projected.
   */
  basisDays: number;
  /** The upper projection reaches the budget and the basis is enough for the period (`minForecastBasisDays`): time to warn. */
  alert: boolean;
  level: number;
}

/** Two weeks: long enough to contain a weekly rhythm twice, short enough to follow a change of habits. */
export const RATE_DAYS = 14;

/**
 * The least observation (days) a forecast alert needs: a full day, or a quarter of the period when that is shorter
 * (6 hours of a daily budget). Minutes of spend projected over a month or a quarter are a burst, not a rate.
 */
export function minForecastBasisDays(periodDays: number): number {
  return Math.min(1, periodDays / 4);
}

/** The least share of a day a partial day with no complete days beside it stands for in the rate. */
const MIN_ALONE = 0.25;

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`quantile needs 0 < p < 1, got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

export function forecastSpend(input: ForecastInput): Forecast {
  const level = input.level ?? 0.8;
  const frac = input.lastDayFraction ?? 1;
  if (!(frac > 0 && frac <= 1)) throw new Error(`lastDayFraction must be in (0, 1], got ${frac}`);
  if (!(input.periodDays > 0)) throw new Error(`periodDays must be positive, got ${input.periodDays}`);
  const spent = input.daily.reduce((a, b) => a + b, 0);
  const elapsed = input.daily.length === 0 ? 0 : input.daily.length - 1 + frac;
  const remaining = Math.max(0, input.periodDays - elapsed);

  // Newest RATE_DAYS complete days of history + period, and the current day for its elapsed fraction (weighted by
  // it, not scaled up: an hour's spend alone would be noisy). A partial day's spend is no sample for the spread.
  const complete = frac === 1 ? input.daily : input.daily.slice(0, -1);
  const partial = frac === 1 || input.daily.length === 0 ? 0 : input.daily.at(-1)!;
  const days = [...(input.history ?? []), ...complete];
  const firstSpend = days.findIndex((v) => v > 0);
  const series = (firstSpend < 0 ? [] : days.slice(firstSpend)).slice(-RATE_DAYS);
  // Alone, a partial day counts as at least MIN_ALONE of a day: $1 at 00:30 is not a rate of $48 a day.
  const share = frac === 1 || input.daily.length === 0 ? 0 : series.length > 0 ? frac : Math.max(frac, MIN_ALONE);
  const covered = series.length + share;
  const basis = series.length + (frac === 1 || input.daily.length === 0 ? 0 : frac);
  const rate = covered > 0 ? (series.reduce((a, b) => a + b, 0) + partial) / covered : 0;
  const sd = series.length > 1 ? Math.sqrt(series.reduce((a, v) => a + (v - rate) ** 2, 0) / (series.length - 1)) : rate;
  const n = Math.max(1, series.length);
  const z = normalQuantile(0.5 + level / 2);
  const spread = (t: number): number => Math.sqrt(t * sd * sd + (t * t * sd * sd) / n);
  const at = (t: number, k: number): number => spent + rate * t + k * z * spread(t);

  const projected = at(remaining, 0);
  const low = Math.max(spent, at(remaining, -1));
  const high = at(remaining, 1);

  /** The first t in [0, remaining] with at(t, k) ≥ amount (monotone for k ≥ 0; searched on a grid then bisected). */
  const cross = (k: number): number | null => {
    if (spent >= input.amount) return elapsed;
    const steps = 64;
    let prev = 0;
    for (let i = 1; i <= steps; i++) {
      const t = (remaining * i) / steps;
      if (at(t, k) >= input.amount) {
        let lo = prev;
        let hi = t;
        for (let j = 0; j < 40; j++) {
          const mid = (lo + hi) / 2;
          if (at(mid, k) >= input.amount) hi = mid;
          else lo = mid;
        }
        return elapsed + hi;
      }
      prev = t;
    }
    return null;
  };
  const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);
  return {
    spent,
    elapsedDays: elapsed,
    remainingDays: remaining,
    dailyRate: rate,
    projected,
    low,
    high,
    exhaustion: { day: round(cross(0)), earliest: round(cross(1)), latest: round(cross(-1)) },
    basisDays: basis,
    alert: high >= input.amount && basis >= minForecastBasisDays(input.periodDays),
    level,
  };
}

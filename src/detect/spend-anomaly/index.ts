import type { UsageEvent } from '../../usage/event.js';
import type { DetectContext, Detector, DetectorDefinition, DetectInput, Finding, SubjectKind } from '../types.js';
import { DayClock, HOUR, costOf, evidence, makeFinding, median, modelOf, usd } from '../util.js';

/**
 * Spend anomalies per user, team, project and model.
 *
 * Daily: a day's spend against the SAME weekday of the last 4 weeks (work has a strong weekly rhythm), with robust
 * statistics (median and MAD, so one past spike does not hide the next). Hourly: an EWMA of hourly spend catches a
 * runaway within the day it starts. Both are gated by absolute AND relative impact: a robust z of 5 on a $3 baseline
 * is noise, and so is $40 extra for a team spending $2,000 a day. An anomaly is unusual spend, not a verdict: its
 * wastedUsd is 0 and the excess is in the evidence.
 */

type AnomalyKind = Extract<SubjectKind, 'user' | 'team' | 'project' | 'model'>;
const KINDS = ['user', 'team', 'project', 'model'] as const satisfies readonly AnomalyKind[];
const HOURLY_KINDS = new Set<AnomalyKind>(['user', 'team']);

interface Subject {
  kind: AnomalyKind;
  id: string;
  teamId: string | null;
  firstDay: number;
  days: Map<number, number>;
  firstIds: Map<number, string>;
  /** Hourly EWMA state. */
  hour: number;
  hourCost: number;
  hourFirstId: string;
  mean: number;
  variance: number;
  hours: number;
  flaggedDay: number;
}

/** Hours of history before the hourly EWMA is trusted: two working weeks. */
const EWMA_WARMUP = 24 * 14;

const subjectOf = (kind: AnomalyKind, e: UsageEvent): string | null =>
  kind === 'user' ? e.userId : kind === 'team' ? e.teamId : kind === 'project' ? e.projectId : modelOf(e) || null;

function create(ctx: DetectContext): Detector {
  const cfg = ctx.config.spendAnomaly;
  const clock = new DayClock(ctx.config.timeZone);
  const maps = new Map<AnomalyKind, Map<string, Subject>>(KINDS.map((k) => [k, new Map()]));
  let lastDay = Number.NaN;
  let lastDayEnd = 0;
  let lastDayStart = 0;

  const emit = (s: Subject, f: Omit<Finding, 'id' | 'detectedAt' | 'rule' | 'subject' | 'userId' | 'teamId' | 'sessionId' | 'wastedUsd' | 'wasteMethod'>, now: number): void => {
    ctx.emit(
      makeFinding(
        {
          ...f,
          rule: 'spend-anomaly',
          subject: { kind: s.kind, id: s.id },
          userId: s.kind === 'user' ? s.id : null,
          teamId: s.kind === 'team' ? s.id : s.teamId,
          sessionId: null,
          wastedUsd: 0,
          wasteMethod: 'Not estimated: an anomaly is unusual spend, not necessarily waste (the excess over the baseline is in the evidence).',
        },
        now,
      ),
    );
  };

  const closeHour = (s: Subject, nextHour: number, now: number): void => {
    const x = s.hourCost;
    const minUsd = s.kind === 'user' ? cfg.hourly.minUsd.user : cfg.hourly.minUsd.team;
    if (s.hours >= EWMA_WARMUP && HOURLY_KINDS.has(s.kind)) {
      const sd = Math.sqrt(s.variance);
      if (x - s.mean >= minUsd && x >= cfg.hourly.minRatio * s.mean && x >= s.mean + cfg.hourly.z * sd) {
        const day = clock.day(s.hour * HOUR).index;
        if (s.flaggedDay !== day) {
          s.flaggedDay = day;
          emit(
            s,
            {
              start: s.hour * HOUR,
              end: (s.hour + 1) * HOUR,
              evidence: evidence({ hoursOfHistory: s.hours }, { hourSpendUsd: x, ewmaUsd: s.mean, ewmaSdUsd: sd, excessUsd: x - s.mean, ratio: x / Math.max(s.mean, 1e-9) }, [s.hourFirstId]),
              confidence: Math.min(0.95, 0.6 + 0.02 * ((x - s.mean) / Math.max(sd, 1e-9) - cfg.hourly.z)),
              summary: `${s.kind} ${s.id} spent ${usd(x)} in one hour against a running average of ${usd(s.mean)}/hour.`,
              suggestion: `Worth a quick look at what ran in that hour (the request ids are attached): a runaway script or agent is the usual cause; if it was planned work, nothing to do.`,
            },
            now,
          );
        }
      }
    }
    // Update with this hour, then with the empty hours until the next one (capped: after 3 days the mean is ~0).
    const a = cfg.hourly.alpha;
    const steps = Math.min(72, nextHour - s.hour);
    for (let i = 0; i < steps; i++) {
      const v = i === 0 ? x : 0;
      const diff = v - s.mean;
      s.mean += a * diff;
      s.variance = (1 - a) * (s.variance + a * diff * diff);
    }
    s.hours += nextHour - s.hour;
    s.hour = nextHour;
    s.hourCost = 0;
  };

  const closeDay = (day: number, dayStart: number, dayEnd: number, now: number): void => {
    for (const kind of KINDS) {
      const minUsd = cfg.minUsd[kind];
      for (const s of maps.get(kind)!.values()) {
        const x = s.days.get(day) ?? 0;
        for (const d of s.days.keys()) if (d < day - cfg.weeks * 7) s.days.delete(d);
        for (const d of s.firstIds.keys()) if (d < day) s.firstIds.delete(d);
        if (x <= 0 || s.flaggedDay === day) continue;
        const same: number[] = [];
        for (let w = 1; w <= cfg.weeks; w++) if (day - 7 * w >= s.firstDay) same.push(s.days.get(day - 7 * w) ?? 0);
        if (same.length < cfg.minWeeks) continue;
        const med = median(same);
        const active = [...s.days.entries()].filter(([d, v]) => d < day && v > 0).map(([, v]) => v);
        const reference = Math.max(med, median(active) / 2);
        const scale = Math.max(1.4826 * median(same.map((v) => Math.abs(v - med))), 0.1 * med, minUsd / 5);
        const z = (x - med) / scale;
        if (z < cfg.z || x - med < minUsd || x < cfg.minRatio * reference) continue;
        s.flaggedDay = day;
        // A median of $0.00 is no "usual level": someone back after a break spent nothing to compare the day with.
        // (Nor is a robust z against nothing worth printing: it is in the evidence.)
        const zText = `(robust z ${z.toFixed(1)})`;
        const usual =
          active.length === 0
            ? `after no spend at all in the previous ${same.length} weeks, so with nothing usual to compare it with`
            : med === 0
              ? `of the week that usually has no spend (same weekday, last ${same.length} weeks) ${zText}`
              : `whose usual level (same weekday, last ${same.length} weeks) is ${usd(med)} ${zText}`;
        emit(
          s,
          {
            start: dayStart,
            end: dayEnd,
            evidence: evidence(
              { weeksOfBaseline: same.length },
              { daySpendUsd: x, sameWeekdayMedianUsd: med, robustZ: z, excessUsd: x - med, ratio: x / Math.max(reference, 1e-9) },
              s.firstIds.has(day) ? [s.firstIds.get(day)!] : [],
            ),
            confidence: Math.min(0.95, 0.6 + 0.02 * (z - cfg.z)),
            summary: `${s.kind} ${s.id} spent ${usd(x)} on a day ${usual}.`,
            suggestion:
              'Worth a quick look at what drove the day (the report by session or model shows it). If it was planned work, nothing to do; a budget alert can catch the next one earlier.',
          },
          now,
        );
      }
    }
  };

  const rollTo = (now: number): void => {
    const { index, window } = clock.day(now);
    if (Number.isNaN(lastDay)) {
      [lastDay, lastDayStart, lastDayEnd] = [index, window.start, window.end];
      return;
    }
    while (now >= lastDayEnd) {
      closeDay(lastDay, lastDayStart, lastDayEnd, now);
      const next = clock.day(lastDayEnd);
      [lastDay, lastDayStart, lastDayEnd] = [next.index, next.window.start, next.window.end];
    }
  };

  return {
    observe({ event: e }: DetectInput): void {
      const cost = costOf(e);
      if (cost <= 0) return;
      const { index } = clock.day(e.startedAt);
      const hour = Math.floor(e.startedAt / HOUR);
      for (const kind of KINDS) {
        const id = subjectOf(kind, e);
        if (id === null) continue;
        const map = maps.get(kind)!;
        let s = map.get(id);
        if (s === undefined) {
          s = { kind, id, teamId: e.teamId, firstDay: index, days: new Map(), firstIds: new Map(), hour, hourCost: 0, hourFirstId: e.id, mean: 0, variance: 0, hours: 0, flaggedDay: -1 };
          map.set(id, s);
        }
        const prev = s.days.get(index);
        if (prev === undefined) s.firstIds.set(index, e.id);
        s.days.set(index, (prev ?? 0) + cost);
        if (HOURLY_KINDS.has(kind)) {
          if (hour !== s.hour) closeHour(s, hour, e.startedAt);
          if (s.hourCost === 0) s.hourFirstId = e.id;
          s.hourCost += cost;
        }
      }
    },
    advance: rollTo,
    finish: rollTo,
  };
}

export const spendAnomaly: DetectorDefinition = {
  rule: 'spend-anomaly',
  title: 'Spend anomalies',
  rationale:
    'Daily spend against the same weekday of the last 4 weeks (median/MAD, robust z ≥ 5) and hourly spend against an EWMA, each gated by an absolute amount and a ratio so small noise never alerts. Unusual spend is a question, not a verdict: no waste is claimed.',
  create,
};

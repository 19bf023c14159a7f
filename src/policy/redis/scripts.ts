import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts of the shared budget state. Each call is one script, so Redis runs it atomically: a check and
 * its reservation, a settlement and its release, a day's seeding and its marker can never interleave with
 * another replica's. Sent by EVALSHA (EVAL once per server when it does not know the script yet).
 *
 * Keys, under the configured prefix P (`win` = `scope|windowStart|windowEnd`, end 2^53-1 for all time):
 *   P w:win      HASH  su st (spent usd/tokens in the window), ru rt (reserved)
 *   P r:win      ZSET  reservations in flight, member `id|usd|tokens`, score = when it was made or last refreshed
 *   P sw:scope   SET   `start|end` of the scope's counted windows: a settlement adds to each that contains it
 *   P wins       SET   every counted window (the sweeper's list)
 *   P d:day      HASH  the ledger of one local day: `u|scope` `t|scope` spend, `_seed` = when it was seeded
 *   P rl:counter:minute  HASH q t (requests, tokens of a rate limit counter in one minute)
 *
 * Reservations are members with their start as score rather than keys with a TTL: a key that expires takes the
 * amount with it, and Redis has no expiry hook to take it off the window's reserved sum. Each replica refreshes the
 * scores of its requests in flight (REFRESH, a few times per TTL); a member not refreshed for the
 * reservation TTL is released by the next script that touches the window (and by the sweeper), so a replica that
 * dies mid-request leaks nothing past the upstream timeout, and a long stream keeps its reservation.
 *
 * Amounts travel as strings and are written with HINCRBYFLOAT: Lua's tostring keeps 14 digits, not 17.
 * Single-instance Redis (or a primary with replicas behind Sentinel); scripts build key names, so not Cluster.
 */

const PRELUDE = `
local P = ARGV[1]
local function num(x) return tonumber(x) or 0 end
local function fmt(x) return string.format('%.17g', x) end
-- Takes a reservation's amounts off its window (never below zero; exactly zero once nothing is in flight).
local function unreserve(win, member)
  local wk = P .. 'w:' .. win
  if redis.call('EXISTS', wk) == 0 then return end
  local u, t = string.match(member, '^[^|]*|([^|]*)|([^|]*)$')
  local ru = num(redis.call('HINCRBYFLOAT', wk, 'ru', '-' .. u))
  local rt = num(redis.call('HINCRBYFLOAT', wk, 'rt', '-' .. t))
  if redis.call('ZCARD', P .. 'r:' .. win) == 0 then
    redis.call('HSET', wk, 'ru', '0', 'rt', '0')
  elseif ru < 0 or rt < 0 then
    redis.call('HSET', wk, 'ru', fmt(math.max(ru, 0)), 'rt', fmt(math.max(rt, 0)))
  end
end
-- Releases the window's reservations of requests that started before 'before' (they died without settling).
local function prune(win, before)
  local rk = P .. 'r:' .. win
  local old = redis.call('ZRANGEBYSCORE', rk, '-inf', '(' .. before)
  for _, m in ipairs(old) do
    redis.call('ZREM', rk, m)
    unreserve(win, m)
  end
  return #old
end
`;

/**
 * Check-and-reserve across every budget of a request, or peek (empty member). ARGV: P, now, expireBefore,
 * member, usd, tokens, n, then n × (win, unit u|t, limit).
 * Reply: {0, i…} counters i not built yet; {1, snaps} peeked; {2, i, snaps} line i has no room; {3, snaps} reserved.
 * snaps: spent, reserved of each line in its unit, as strings.
 */
export const RESERVE = `${PRELUDE}
local at, before, member = ARGV[2], ARGV[3], ARGV[4]
local cost = { u = num(ARGV[5]), t = num(ARGV[6]) }
local n = tonumber(ARGV[7])
local lines, missing = {}, {}
for i = 1, n do
  local b = 7 + (i - 1) * 3
  lines[i] = { win = ARGV[b + 1], unit = ARGV[b + 2], limit = num(ARGV[b + 3]) }
  if redis.call('EXISTS', P .. 'w:' .. lines[i].win) == 0 then missing[#missing + 1] = i end
end
if #missing > 0 then
  table.insert(missing, 1, 0)
  return missing
end
local wins = {}
for _, l in ipairs(lines) do
  if not wins[l.win] then
    wins[l.win] = true
    prune(l.win, before)
  end
end
local function snaps()
  local out = {}
  for _, l in ipairs(lines) do
    local h = redis.call('HMGET', P .. 'w:' .. l.win, 's' .. l.unit, 'r' .. l.unit)
    out[#out + 1] = h[1] or '0'
    out[#out + 1] = h[2] or '0'
  end
  return out
end
local before_snaps = snaps()
if member == '' then
  table.insert(before_snaps, 1, 1)
  return before_snaps
end
for i, l in ipairs(lines) do
  local used = num(before_snaps[2 * i - 1]) + num(before_snaps[2 * i])
  local price = cost[l.unit]
  if (price > 0 and used + price > l.limit) or (price <= 0 and used >= l.limit) then
    -- Someone may now wait for this window: its settlements are announced for a while (see SETTLE).
    redis.call('HSET', P .. 'w:' .. l.win, 'wt', at)
    table.insert(before_snaps, 1, i)
    table.insert(before_snaps, 1, 2)
    return before_snaps
  end
end
for win in pairs(wins) do
  redis.call('HINCRBYFLOAT', P .. 'w:' .. win, 'ru', ARGV[5])
  redis.call('HINCRBYFLOAT', P .. 'w:' .. win, 'rt', ARGV[6])
  redis.call('ZADD', P .. 'r:' .. win, at, member)
end
local after = snaps()
table.insert(after, 1, 3)
return after
`;

/**
 * Settlement: books the real cost on the request's day and on every counted window of each of its scopes, and
 * releases its reservation. ARGV: P, startedAt, dayStart, member ('' when none), usd, tokens (actual), grace,
 * nScopes, scopes…, nWins, wins… (the reservation's windows), waitMs (how long a refused request may wait), and
 * seededBy: 0, or a time the day must have been seeded by (a held settlement: see RedisBudgetState.hold).
 * Reply: {0} the day is not seeded, or was seeded after seededBy (seed it, then call again; or drop a held one);
 * {1, released, then su st ru rt per win}.
 */
export const SETTLE = `${PRELUDE}
local at, day, member = num(ARGV[2]), ARGV[3], ARGV[4]
local tail = 10 + tonumber(ARGV[8]) + tonumber(ARGV[9 + tonumber(ARGV[8])])
local au, atok, grace, wait = ARGV[5], ARGV[6], num(ARGV[7]), num(ARGV[tail])
local seededBy = num(ARGV[tail + 1])
local dk = P .. 'd:' .. day
local seeded = redis.call('HGET', dk, '_seed')
if not seeded then return {0} end
if seededBy > 0 and num(seeded) > seededBy then return {0} end
local ns = tonumber(ARGV[8])
local spend = num(au) ~= 0 or num(atok) ~= 0
for i = 1, ns do
  local scope = ARGV[8 + i]
  if spend then
    redis.call('HINCRBYFLOAT', dk, 'u|' .. scope, au)
    redis.call('HINCRBYFLOAT', dk, 't|' .. scope, atok)
    local swk = P .. 'sw:' .. scope
    for _, w in ipairs(redis.call('SMEMBERS', swk)) do
      local s, e = string.match(w, '^(%d+)|(%d+)$')
      s, e = tonumber(s), tonumber(e)
      local wk = P .. 'w:' .. scope .. '|' .. w
      if e + grace < at or redis.call('EXISTS', wk) == 0 then
        redis.call('SREM', swk, w)
      elseif at >= s and at < e then
        redis.call('HINCRBYFLOAT', wk, 'su', au)
        redis.call('HINCRBYFLOAT', wk, 'st', atok)
      end
    end
  end
end
local nw = tonumber(ARGV[9 + ns])
local released, waited = 0, false
local out = {1, 0}
for i = 1, nw do
  local win = ARGV[9 + ns + i]
  if member ~= '' and redis.call('ZREM', P .. 'r:' .. win, member) == 1 then
    released = 1
    unreserve(win, member)
  end
  local h = redis.call('HMGET', P .. 'w:' .. win, 'su', 'st', 'ru', 'rt', 'wt')
  for j = 1, 4 do out[#out + 1] = h[j] or '0' end
  if num(h[5]) + wait > at then waited = true end
end
out[2] = released
-- Wakes requests waiting near a limit in any replica: only when a request was refused on one of these windows
-- lately, so a budget far from its limit costs no message per request.
if released == 1 and waited then redis.call('PUBLISH', P .. 'settled', '1') end
return out
`;

/**
 * Seeds days of the ledger from the store, each once: a day that already has its marker is left as it is, so
 * replicas seeding the same day at once (or again later) never count it twice. ARGV: P, marker, then a JSON list
 * of [dayStart, keepMs, [scope, usd, tokens, …]] with every number as a string. Reply: days seeded.
 */
export const SEED = `${PRELUDE}
local seeded = 0
for _, d in ipairs(cjson.decode(ARGV[3])) do
  local dk = P .. 'd:' .. d[1]
  if redis.call('HEXISTS', dk, '_seed') == 0 then
    local rows = d[3]
    for i = 1, #rows, 3 do
      redis.call('HINCRBYFLOAT', dk, 'u|' .. rows[i], rows[i + 1])
      redis.call('HINCRBYFLOAT', dk, 't|' .. rows[i], rows[i + 2])
    end
    redis.call('HSET', dk, '_seed', ARGV[2])
    redis.call('PEXPIRE', dk, d[2])
    seeded = seeded + 1
  end
end
return seeded
`;

/**
 * Builds a window's counter from the ledger days it spans so far (all seeded, else reply {0, missing day
 * indexes…}), and registers it so that settlements keep it current. Reservations still listed for the window (its
 * counter was lost) are summed back. ARGV: P, scope, start, end, keepMs ('0': forever), nDays, dayStarts…
 */
export const BUILD = `${PRELUDE}
local scope, s, e, keep = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local win = scope .. '|' .. s .. '|' .. e
local wk = P .. 'w:' .. win
if redis.call('EXISTS', wk) == 1 then return {1} end
local nd = tonumber(ARGV[6])
local missing = {0}
for i = 1, nd do
  if redis.call('HEXISTS', P .. 'd:' .. ARGV[6 + i], '_seed') == 0 then missing[#missing + 1] = i end
end
if #missing > 1 then return missing end
local su, st = 0, 0
for i = 1, nd do
  local h = redis.call('HMGET', P .. 'd:' .. ARGV[6 + i], 'u|' .. scope, 't|' .. scope)
  su, st = su + num(h[1]), st + num(h[2])
end
local ru, rt = 0, 0
for _, m in ipairs(redis.call('ZRANGE', P .. 'r:' .. win, 0, -1)) do
  local u, t = string.match(m, '^[^|]*|([^|]*)|([^|]*)$')
  ru, rt = ru + num(u), rt + num(t)
end
redis.call('HSET', wk, 'su', fmt(su), 'st', fmt(st), 'ru', fmt(ru), 'rt', fmt(rt))
redis.call('SADD', P .. 'sw:' .. scope, s .. '|' .. e)
redis.call('SADD', P .. 'wins', win)
if keep ~= '0' then
  redis.call('PEXPIRE', wk, keep)
  redis.call('PEXPIRE', P .. 'r:' .. win, keep)
end
return {1}
`;

/**
 * Keeps reservations of requests in flight: each one's score (when it was last seen) set to now in all its windows.
 * One that was released meanwhile from any of them (not refreshed within the TTL: the replica stalled) is released
 * from all of them, never brought back in some. ARGV: P, now, n, then n × (member, nWins, wins…). Reply: how many
 * were found released.
 */
export const REFRESH = `${PRELUDE}
local at, n, i = ARGV[2], tonumber(ARGV[3]), 4
local lost = 0
for _ = 1, n do
  local member, nw = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local held = true
  for j = i, i + nw - 1 do
    if not redis.call('ZSCORE', P .. 'r:' .. ARGV[j], member) then held = false end
  end
  for j = i, i + nw - 1 do
    if held then
      redis.call('ZADD', P .. 'r:' .. ARGV[j], 'XX', at, member)
    elseif redis.call('ZREM', P .. 'r:' .. ARGV[j], member) == 1 then
      unreserve(ARGV[j], member)
    end
  end
  if not held then lost = lost + 1 end
  i = i + nw
end
return lost
`;

/** The sweeper: releases expired reservations of every counted window. ARGV: P, expireBefore. Reply: how many. */
export const SWEEP = `${PRELUDE}
local n = 0
for _, win in ipairs(redis.call('SMEMBERS', P .. 'wins')) do
  if redis.call('EXISTS', P .. 'w:' .. win) == 0 then
    redis.call('SREM', P .. 'wins', win)
    redis.call('DEL', P .. 'r:' .. win)
  else
    n = n + prune(win, ARGV[2])
  end
end
return n
`;

/**
 * Rate limits, the sliding-window approximation of rate-limit.ts on per-minute keys. ARGV: P, now, tokens, n,
 * then n × (counter, rpm or '', tpm or ''). Reply: {0} admitted and counted; {1, i, 1 rpm | 2 tpm, used, tooLarge}.
 */
export const RATE_ADMIT = `${PRELUDE}
local now, tokens, n = num(ARGV[2]), num(ARGV[3]), tonumber(ARGV[4])
local minute = math.floor(now / 60000)
local w = 1 - (now - minute * 60000) / 60000
local keys = {}
-- Every check that refuses, six numbers each (line, 1 rpm | 2 tpm, used, too large, previous minute, this minute):
-- the caller reports the first and waits for the last of them to clear.
local refused = {1}
for i = 1, n do
  local b = 4 + (i - 1) * 3
  local c, rpm, tpm = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local cur = redis.call('HMGET', P .. 'rl:' .. c .. ':' .. minute, 'q', 't')
  local prev = redis.call('HMGET', P .. 'rl:' .. c .. ':' .. (minute - 1), 'q', 't')
  if rpm then
    local used = num(prev[1]) * w + num(cur[1])
    if used + 1 > rpm then
      for _, v in ipairs({i, 1, fmt(used), 0, fmt(num(prev[1])), fmt(num(cur[1]))}) do table.insert(refused, v) end
    end
  end
  if tpm then
    local used = num(prev[2]) * w + num(cur[2])
    if tokens > tpm or used + tokens > tpm then
      for _, v in ipairs({i, 2, fmt(used), tokens > tpm and 1 or 0, fmt(num(prev[2])), fmt(num(cur[2]))}) do table.insert(refused, v) end
    end
  end
  keys[i] = { P .. 'rl:' .. c .. ':' .. minute, tpm ~= nil }
end
if #refused > 1 then return refused end
for _, k in ipairs(keys) do
  redis.call('HINCRBY', k[1], 'q', 1)
  if k[2] then redis.call('HINCRBY', k[1], 't', ARGV[3]) end
  redis.call('PEXPIRE', k[1], 180000)
end
return {0}
`;

/** A request's reserved tokens replaced by its real count, in the minute it was admitted. ARGV: P, minute, delta, counters… */
export const RATE_SETTLE = `${PRELUDE}
for i = 4, #ARGV do
  local k = P .. 'rl:' .. ARGV[i] .. ':' .. ARGV[2]
  if redis.call('EXISTS', k) == 1 then redis.call('HINCRBY', k, 't', ARGV[3]) end
end
return 1
`;

/** A script called by its SHA1; sent whole only when the server does not have it cached (after a restart). */
export class Script {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, 0, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.lua, 0, ...args);
    }
  }
}

import { createHash } from 'node:crypto';

/**
 * The Redis scripts that keep a cluster budget. Every change to the budget runs as one of them, so
 * each take, return, renewal and claim is atomic on the Redis server: no client-side locking, no
 * consensus of our own.
 *
 * Keys (all share the budget's `{name}` hash tag, so every script touches one Redis Cluster slot):
 *
 * | key            | type   | holds                                                                      |
 * | -------------- | ------ | -------------------------------------------------------------------------- |
 * | `B:inst`       | zset   | instance id -> lease expiry (Redis server time, ms)                        |
 * | `B:used`       | hash   | scope -> leases held by all live instances                                 |
 * | `B:held`       | hash   | `scope\ninstance` -> leases that instance holds in that scope              |
 * | `B:want`       | zset   | `scope\ninstance` -> until when that instance waits for a slot of the scope |
 * | `B:meta`       | hash   | `epoch`, `createdAt`, `recoverUntil`                                       |
 * | `B:gate`       | hash   | scope -> earliest time of the next shrink request; `req\nscope` -> the last |
 * | `B:l:<inst>`   | hash   | lease id -> its scopes (newline separated), one hash per instance         |
 *
 * Scopes: `*` is the database budget, `t:<tenant>` a tenant's. Times come from `TIME` on the Redis
 * server, never from the instances' clocks. Pub/sub messages go to `B:events`.
 *
 * Every script's KEYS are `inst, used, held, want, meta, gate, mine` (mine = `B:l:<this instance>`);
 * ARGV starts with `me, keepMs` (this instance's id, and how long idle keys are kept).
 */

const PRELUDE = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local K_INST, K_USED, K_HELD, K_WANT, K_META, K_GATE, K_MINE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local BASE = string.sub(K_INST, 1, #K_INST - 5)
local CHANNEL = BASE .. ':events'
local ME = ARGV[1]
local KEEP_MS = tonumber(ARGV[2])
local clock = redis.call('TIME')
local NOW = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local function num(v)
  if v then return tonumber(v) end
  return 0
end

local function decr(key, field)
  local v = redis.call('HINCRBY', key, field, -1)
  if v <= 0 then redis.call('HDEL', key, field) end
end

-- Removes every lease of instance inst (whose lease hash is lkey). Returns how many there were.
local function drop_leases(inst, lkey)
  local all = redis.call('HGETALL', lkey)
  for i = 2, #all, 2 do
    for s in string.gmatch(all[i], '[^\\n]+') do
      decr(K_USED, s)
      decr(K_HELD, s .. '\\n' .. inst)
    end
  end
  if #all > 0 then redis.call('DEL', lkey) end
  return #all / 2
end

-- Instances whose lease expired lose every slot they held. Bounded per call; the next call goes on.
local function sweep()
  local dead = redis.call('ZRANGEBYSCORE', K_INST, '-inf', NOW, 'LIMIT', 0, 32)
  local freed = 0
  for _, inst in ipairs(dead) do
    freed = freed + drop_leases(inst, BASE .. ':l:' .. inst)
    redis.call('ZREM', K_INST, inst)
  end
  redis.call('ZREMRANGEBYSCORE', K_WANT, '-inf', NOW)
  return freed, #dead
end

local function notify_freed(n)
  if n > 0 and redis.call('ZCARD', K_WANT) > 0 then
    redis.call('PUBLISH', CHANNEL, cjson.encode({ type = 'freed', n = n }))
  end
end

local function keep()
  redis.call('PEXPIRE', K_INST, KEEP_MS)
  redis.call('PEXPIRE', K_USED, KEEP_MS)
  redis.call('PEXPIRE', K_HELD, KEEP_MS)
  redis.call('PEXPIRE', K_WANT, KEEP_MS)
  redis.call('PEXPIRE', K_META, KEEP_MS)
  redis.call('PEXPIRE', K_GATE, KEEP_MS)
  redis.call('PEXPIRE', K_MINE, KEEP_MS)
end

-- nil when this instance may act, else why not: 'EPOCH' (the budget state was lost or replaced
-- since it registered) or 'UNKNOWN' (its registration expired).
local function check_member(epoch)
  if redis.call('HGET', K_META, 'epoch') ~= epoch then return 'EPOCH' end
  if not redis.call('ZSCORE', K_INST, ME) then return 'UNKNOWN' end
  return nil
end

local function recover_left()
  local r = num(redis.call('HGET', K_META, 'recoverUntil'))
  if r > NOW then return r - NOW end
  return 0
end
`;

/**
 * take: ARGV = me, keepMs, epoch, ttlMs, wantTtlMs, shrinkGapMs, nScopes, (scope, limit) x nScopes, id...
 * Grants the ids in order while every scope has room and fair sharing allows. Returns
 * `{'OK', granted, reason, retryMs, live, shrinkRequested, used_1..used_n}` or `{'EPOCH'|'UNKNOWN'}`.
 */
const TAKE = `${PRELUDE}
local epoch, ttl, want_ttl, gap = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ns = tonumber(ARGV[7])
local scopes, limits = {}, {}
for i = 1, ns do
  scopes[i] = ARGV[6 + 2 * i]
  limits[i] = tonumber(ARGV[7 + 2 * i])
end
local first = 8 + 2 * ns
local swept = sweep()
notify_freed(swept)
local bad = check_member(epoch)
if bad then return { bad } end
redis.call('ZADD', K_INST, NOW + ttl, ME)
local live = redis.call('ZCARD', K_INST)
local encoded = table.concat(scopes, '\\n')

local function share(i)
  return math.max(1, math.floor(limits[i] / live))
end

-- Is another instance waiting for scope s while holding less than its fair share?
local needy_cache = {}
local function needy_other(i)
  if needy_cache[i] ~= nil then return needy_cache[i] end
  local s, sh = scopes[i], share(i)
  local found = false
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', K_WANT, NOW, '+inf')) do
    local nl = string.find(m, '\\n', 1, true)
    if nl and string.sub(m, 1, nl - 1) == s then
      local inst = string.sub(m, nl + 1)
      if inst ~= ME and num(redis.call('HGET', K_HELD, m)) < sh then
        found = true
        break
      end
    end
  end
  needy_cache[i] = found
  return found
end

local granted, reason, blocked, retry = 0, '', 0, 0
local left = recover_left()
if left > 0 then
  reason, retry = 'recovering', left
else
  for idx = first, #ARGV do
    local id = ARGV[idx]
    if redis.call('HEXISTS', K_MINE, id) == 1 then
      granted = granted + 1
    else
      for i = 1, ns do
        if num(redis.call('HGET', K_USED, scopes[i])) >= limits[i] then
          reason, blocked = 'capacity', i
          break
        end
        if num(redis.call('HGET', K_HELD, scopes[i] .. '\\n' .. ME)) >= share(i) and needy_other(i) then
          reason, blocked = 'fairness', i
          break
        end
      end
      if reason ~= '' then break end
      redis.call('HSET', K_MINE, id, encoded)
      for i = 1, ns do
        redis.call('HINCRBY', K_USED, scopes[i], 1)
        redis.call('HINCRBY', K_HELD, scopes[i] .. '\\n' .. ME, 1)
      end
      granted = granted + 1
    end
  end
end

local shrink = 0
if reason == '' then
  for i = 1, ns do redis.call('ZREM', K_WANT, scopes[i] .. '\\n' .. ME) end
elseif blocked > 0 then
  local s = scopes[blocked]
  redis.call('ZADD', K_WANT, NOW + want_ttl, s .. '\\n' .. ME)
  local sh = share(blocked)
  if reason == 'capacity' and num(redis.call('HGET', K_HELD, s .. '\\n' .. ME)) < sh and num(redis.call('HGET', K_GATE, s)) <= NOW then
    redis.call('HSET', K_GATE, s, NOW + gap, 'req\\n' .. s, NOW .. ',' .. sh .. ',' .. ME)
    redis.call('PUBLISH', CHANNEL, cjson.encode({ type = 'shrink', scope = s, share = sh, from = ME, live = live, at = NOW }))
    shrink = 1
  end
end
keep()
local out = { 'OK', granted, reason, retry, live, shrink }
for i = 1, ns do out[#out + 1] = num(redis.call('HGET', K_USED, scopes[i])) end
return out
`;

/**
 * giveBack: ARGV = me, keepMs, id... Removes those leases of this instance (ids it does not hold are
 * ignored, so a return is idempotent). Returns `{returned, stillHeld}`.
 */
const GIVE_BACK = `${PRELUDE}
local swept = sweep()
local n = 0
for i = 3, #ARGV do
  local enc = redis.call('HGET', K_MINE, ARGV[i])
  if enc then
    redis.call('HDEL', K_MINE, ARGV[i])
    for s in string.gmatch(enc, '[^\\n]+') do
      decr(K_USED, s)
      decr(K_HELD, s .. '\\n' .. ME)
    end
    n = n + 1
  end
end
notify_freed(swept + n)
keep()
return { n, redis.call('HLEN', K_MINE) }
`;

/**
 * renew (the heartbeat): ARGV = me, keepMs, epoch, ttlMs, nScopes, scope... Extends this instance's
 * lease on all its slots at once. Returns
 * `{'OK', leasesHeld, live, recoverLeftMs, serverNowMs, used_1..used_n, mine_1..mine_n, shrink_1..shrink_n}`
 * or `{'EPOCH'|'UNKNOWN'}`, where shrink_i is the last shrink request of scope i (`at,share,from`, or
 * empty): instances whose subscription is down still learn of them.
 */
const RENEW = `${PRELUDE}
local epoch, ttl, ns = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local swept = sweep()
notify_freed(swept)
local bad = check_member(epoch)
if bad then return { bad } end
redis.call('ZADD', K_INST, NOW + ttl, ME)
keep()
local out = { 'OK', redis.call('HLEN', K_MINE), redis.call('ZCARD', K_INST), recover_left(), NOW }
for i = 1, ns do out[#out + 1] = num(redis.call('HGET', K_USED, ARGV[5 + i])) end
for i = 1, ns do out[#out + 1] = num(redis.call('HGET', K_HELD, ARGV[5 + i] .. '\\n' .. ME)) end
for i = 1, ns do out[#out + 1] = redis.call('HGET', K_GATE, 'req\\n' .. ARGV[5 + i]) or '' end
return out
`;

/**
 * claim (registration, re-registration after an outage, resynchronisation): ARGV = me, keepMs,
 * knownEpoch, ttlMs, nScopes, (scope, limit) x nScopes, (id, scopeIndexes) ... where scopeIndexes
 * is a comma-separated list of 1-based indexes into the scopes. Replaces this instance's leases with
 * the ones given, granted in order while every scope of each has room (fair sharing does not apply:
 * these connections are open already). When the budget's state was lost (no epoch, or another one
 * than the claimer knew, created less than one lease TTL ago), takes are refused until one lease TTL
 * after the state was recreated, so every live instance re-claims what it holds before anyone grows.
 * Returns `{'OK', epoch, live, recoverLeftMs, flag_1..flag_k}` (1 granted, 0 refused).
 */
const CLAIM = `${PRELUDE}
local known, ttl, ns = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local scopes, limits = {}, {}
for i = 1, ns do
  scopes[i] = ARGV[4 + 2 * i]
  limits[i] = tonumber(ARGV[5 + 2 * i])
end
local first = 6 + 2 * ns
local swept = sweep()
local epoch = redis.call('HGET', K_META, 'epoch')
if not epoch then
  epoch = tostring(NOW) .. '-' .. ME
  redis.call('HSET', K_META, 'epoch', epoch, 'createdAt', NOW)
  if known ~= '' then redis.call('HSET', K_META, 'recoverUntil', NOW + ttl) end
elseif known ~= '' and known ~= epoch then
  local created = num(redis.call('HGET', K_META, 'createdAt'))
  if NOW < created + ttl and redis.call('HEXISTS', K_META, 'recoverUntil') == 0 then
    redis.call('HSET', K_META, 'recoverUntil', created + ttl)
  end
end
local dropped = drop_leases(ME, K_MINE)
redis.call('ZADD', K_INST, NOW + ttl, ME)
local flags, granted = {}, 0
for idx = first, #ARGV - 1, 2 do
  local id, which = ARGV[idx], ARGV[idx + 1]
  local mine = {}
  local fits = true
  for d in string.gmatch(which, '[^,]+') do
    local i = tonumber(d)
    mine[#mine + 1] = i
    if num(redis.call('HGET', K_USED, scopes[i])) >= limits[i] then fits = false end
  end
  if fits and #mine > 0 then
    local names = {}
    for _, i in ipairs(mine) do
      names[#names + 1] = scopes[i]
      redis.call('HINCRBY', K_USED, scopes[i], 1)
      redis.call('HINCRBY', K_HELD, scopes[i] .. '\\n' .. ME, 1)
    end
    redis.call('HSET', K_MINE, id, table.concat(names, '\\n'))
    flags[#flags + 1] = 1
    granted = granted + 1
  else
    flags[#flags + 1] = 0
  end
end
notify_freed(swept + math.max(0, dropped - granted))
keep()
local out = { 'OK', epoch, redis.call('ZCARD', K_INST), recover_left() }
for _, f in ipairs(flags) do out[#out + 1] = f end
return out
`;

/**
 * deregister: ARGV = me, keepMs. Gives back every lease of this instance and forgets it.
 * Returns the number of leases given back.
 */
const DEREGISTER = `${PRELUDE}
local swept = sweep()
local n = drop_leases(ME, K_MINE)
redis.call('ZREM', K_INST, ME)
for _, m in ipairs(redis.call('ZRANGE', K_WANT, 0, -1)) do
  if string.sub(m, -(#ME + 1)) == '\\n' .. ME then redis.call('ZREM', K_WANT, m) end
end
notify_freed(swept + n)
return n
`;

/**
 * inspect: ARGV = me, keepMs. A consistent snapshot of the whole budget (after sweeping expired
 * instances). Returns `{nowMs, epoch, createdAt, recoverUntil, inst (id, expiry...), used (scope,
 * n...), held (scope\ninst, n...), want (scope\ninst, until...)}`.
 */
const INSPECT = `${PRELUDE}
local swept = sweep()
notify_freed(swept)
return {
  NOW,
  redis.call('HGET', K_META, 'epoch') or '',
  num(redis.call('HGET', K_META, 'createdAt')),
  num(redis.call('HGET', K_META, 'recoverUntil')),
  redis.call('ZRANGE', K_INST, 0, -1, 'WITHSCORES'),
  redis.call('HGETALL', K_USED),
  redis.call('HGETALL', K_HELD),
  redis.call('ZRANGE', K_WANT, 0, -1, 'WITHSCORES'),
}
`;

/** A Lua script with its SHA-1 (for `EVALSHA`). */
export interface BudgetScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string, lua: string): BudgetScript {
  return Object.freeze({ name, lua, sha: createHash('sha1').update(lua).digest('hex') });
}

/** @internal Every script of a cluster budget. */
export const SCRIPTS = Object.freeze({
  take: script('take', TAKE),
  giveBack: script('giveBack', GIVE_BACK),
  renew: script('renew', RENEW),
  claim: script('claim', CLAIM),
  deregister: script('deregister', DEREGISTER),
  inspect: script('inspect', INSPECT),
});

/** @internal The number of KEYS every script takes. */
export const SCRIPT_KEY_COUNT = 7;

//! The Lua scripts sprig runs on the cluster. Each touches one hash slot (a group's,
//! or the database's log slot), so Redis runs it atomically.
//!
//! Versions are written as 16 lowercase hex digits, so that Lua compares them as
//! strings in numeric order. A stored value is `VERSION FLAG BYTES`, `FLAG` being `v`
//! (a value) or `d` (deleted at that version); a key's older versions that readers
//! may still need live in a hash beside it (`...:h:KEY`, version -> `FLAG BYTES`).

/// Writes one group's operations at one version. KEYS: the group's index, then per
/// operation its value key and history key. ARGV: version, low-water mark (no reader
/// reads below it), then per operation `p`/`d` and the key's member in the index,
/// then the values of the puts in order. The value a key had is kept in its history
/// for readers pinned below the new version; history no reader can reach is dropped.
/// Returns the members that now have history or are deleted (to collect later).
/// Idempotent: a retry finds its keys at this version and writes them again.
pub const APPLY_GROUP: &str = r#"
local idx, ver, low = KEYS[1], ARGV[1], ARGV[2]
local n = (#KEYS - 1) / 2
local puts = 2 + 2 * n
local garbage = {}
for j = 1, n do
  local vk, hk = KEYS[2 * j], KEYS[2 * j + 1]
  local op, member = ARGV[1 + 2 * j], ARGV[2 + 2 * j]
  local cur = redis.call('GET', vk)
  local kept = false
  local skip = false
  if cur then
    local cv = string.sub(cur, 1, 16)
    -- A newer version is there (a writer that lost its lease, late), or the key
    -- is deleted already.
    skip = cv > ver or (op == 'd' and string.sub(cur, 17, 17) == 'd')
    if cv < ver and not skip then
      if cv <= low then
        redis.call('DEL', hk)
      end
      redis.call('HSET', hk, cv, string.sub(cur, 17))
      kept = true
    end
  end
  if op == 'p' then
    puts = puts + 1
    if not skip then
      redis.call('SET', vk, ver .. 'v' .. ARGV[puts])
      redis.call('ZADD', idx, 0, member)
    end
  elseif cur and not skip then
    redis.call('SET', vk, ver .. 'd')
    kept = true
  end
  if kept then
    garbage[#garbage + 1] = member
  end
end
return garbage
"#;

/// Reads keys of one group as of a version. KEYS: value keys, then their history
/// keys. ARGV: the version, and `1` for values or `0` for presence only. Returns per
/// key the value (or `1`), or nil where the key did not exist at that version.
pub const READ_AT: &str = r#"
local n = #KEYS / 2
local pin, want = ARGV[1], ARGV[2] == '1'
local out = {}
for j = 1, n do
  local cur
  if want then
    cur = redis.call('GET', KEYS[j])
  else
    cur = redis.call('GETRANGE', KEYS[j], 0, 16)
    if cur == '' then cur = false end
  end
  local found = false
  if cur then
    if string.sub(cur, 1, 16) <= pin then
      found = string.sub(cur, 17)
    else
      local best = false
      for _, f in ipairs(redis.call('HKEYS', KEYS[n + j])) do
        if f <= pin and (not best or f > best) then best = f end
      end
      if best then
        found = redis.call('HGET', KEYS[n + j], best)
      end
    end
  end
  if found and string.sub(found, 1, 1) == 'v' then
    if want then out[j] = string.sub(found, 2) else out[j] = '1' end
  else
    out[j] = false
  end
end
return out
"#;

/// Drops what no reader can reach any more from keys a published batch wrote.
/// KEYS: the group's index, then per key its value key and history key. ARGV: the
/// low-water mark, then the keys' members. A key deleted at or below the mark goes
/// entirely; a key written at or below it loses its history; a key written above it
/// keeps the newest history version at or below the mark and those above. Returns
/// how many keys the group has left (none: it can leave its keyspace's registry).
pub const COMPACT: &str = r#"
local idx, low = KEYS[1], ARGV[1]
local n = (#KEYS - 1) / 2
for j = 1, n do
  local vk, hk = KEYS[2 * j], KEYS[2 * j + 1]
  local cur = redis.call('GET', vk)
  if not cur then
    redis.call('DEL', hk)
  elseif string.sub(cur, 1, 16) <= low then
    redis.call('DEL', hk)
    if string.sub(cur, 17, 17) == 'd' then
      redis.call('DEL', vk)
      redis.call('ZREM', idx, ARGV[1 + j])
    end
  else
    local fields = redis.call('HKEYS', hk)
    local best = false
    for _, f in ipairs(fields) do
      if f <= low and (not best or f > best) then best = f end
    end
    for _, f in ipairs(fields) do
      if best and f < best then redis.call('HDEL', hk, f) end
    end
  end
end
return redis.call('ZCARD', idx)
"#;

/// The low-water mark: the smallest version a live process reads at, and at most
/// the published one. Removes pins whose process stopped renewing them. Used inside
/// the log slot's scripts; expects `seq`, `pins` and `pinexp` to be set.
const LOW_WATER: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local low = at
local entries = redis.call('HGETALL', pins)
for i = 1, #entries, 2 do
  local expires = tonumber(redis.call('HGET', pinexp, entries[i]) or '0')
  if expires < now then
    redis.call('HDEL', pins, entries[i])
    redis.call('HDEL', pinexp, entries[i])
  else
    low = math.min(low, tonumber(entries[i + 1]))
  end
end
"#;

/// Writes batch N's redo record, fenced by the writer lease (all in the log slot).
/// KEYS: owner, seq, record, pins, pinexp, garbage index. ARGV: token, N, record.
/// The published version must be N - 1. Returns the low-water mark and how many
/// garbage records are due (published at or below it). Idempotent.
pub fn write_record() -> String {
    format!(
        r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('SPRIGLEASE this process does not hold the database writer lease')
end
local at = tonumber(redis.call('GET', KEYS[2]) or '0')
if at ~= tonumber(ARGV[2]) - 1 then
  return redis.error_reply('SPRIGSEQ another process wrote to the database')
end
redis.call('SET', KEYS[3], ARGV[3])
local pins, pinexp = KEYS[4], KEYS[5]
{LOW_WATER}
return {{low, redis.call('ZCOUNT', KEYS[6], '-inf', low)}}
"#
    )
}

/// Publishes batch N: the version counter moves from N - 1 to N and the redo record
/// goes, in one step, and the writer's pin moves to N. KEYS: owner, seq, record,
/// garbage record, garbage index, pins. ARGV: token, N, the keys to collect once no
/// reader is below N (may be empty).
/// Idempotent: a retry after a lost reply finds the counter at N.
pub const PUBLISH: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('SPRIGLEASE this process does not hold the database writer lease')
end
local at = tonumber(redis.call('GET', KEYS[2]) or '0')
local n = tonumber(ARGV[2])
if at == n then
  return n
end
if at ~= n - 1 then
  return redis.error_reply('SPRIGSEQ another process wrote to the database')
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[6], ARGV[1], ARGV[2])
if #ARGV[3] > 0 then
  redis.call('SET', KEYS[4], ARGV[3])
  redis.call('ZADD', KEYS[5], n, ARGV[2])
end
return n
"#;

/// Pins this process's reads at a version. KEYS: seq, pins, pinexp. ARGV: token,
/// version (`now`: the published one), time to live (ms). Returns the version and
/// whether the pin had lapsed (1) or was held (0).
pub const PIN: &str = r#"
local version = ARGV[2]
if version == 'now' then
  version = redis.call('GET', KEYS[1]) or '0'
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lapsed = redis.call('HSET', KEYS[2], ARGV[1], version)
redis.call('HSET', KEYS[3], ARGV[1], now + tonumber(ARGV[3]))
return {tonumber(version), lapsed}
"#;

/// Renews this process's pin without moving it. KEYS: pins, pinexp. ARGV: token,
/// time to live (ms). Returns 0 when the pin had lapsed (it is not renewed then).
pub const RENEW_PIN: &str = r#"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[2], ARGV[1], now + tonumber(ARGV[2]))
return 1
"#;

/// Removes garbage records once collected. KEYS: garbage index, then the records.
/// ARGV: their versions.
pub const FORGET_GARBAGE: &str = r#"
for i = 2, #KEYS do
  redis.call('DEL', KEYS[i])
end
redis.call('ZREM', KEYS[1], unpack(ARGV))
return #ARGV
"#;

/// Forgets this process's pin. KEYS: pins, pinexp. ARGV: token.
pub const UNPIN: &str = r#"
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"#;

/// Takes the writer lease, or renews it when this process holds it. KEYS: owner,
/// seq. ARGV: token, time to live (ms), the prefix of redo record keys (`...:rec:`,
/// in this slot). Returns {1, published version, the redo record of the next version
/// if a writer died before publishing it} when held, {0, holder} when another
/// process holds it.
pub const TAKE_LEASE: &str = r#"
local holder = redis.call('GET', KEYS[1])
if not holder or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  local at = redis.call('GET', KEYS[2]) or '0'
  local left = redis.call('GET', ARGV[3] .. tostring(tonumber(at) + 1))
  return {1, at, left}
end
return {0, holder}
"#;

/// Renews the held writer lease. KEYS: owner, seq. ARGV: token, time to live (ms),
/// the published version as this process last left it. A lease that expired (its
/// master failed over, or renewals stalled) is taken back only if no other process
/// published meanwhile. Returns 1 when held.
pub const RENEW_LEASE: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not holder and tonumber(redis.call('GET', KEYS[2]) or '0') == tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

/// Gives the writer lease back. KEYS: owner. ARGV: token.
pub const RELEASE_LEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

// Lua scripts of the Redis store: each operation is one script, so an entry and its indexes
// change together (atomic on one Redis). Keys are `<prefix>:<kind>:<blind index>`:
//   t:<token>    HASH m (sealed metadata), x (expiry, epoch ms), s (subject index), i (id index)
//   s:<subject>  ZSET of token indexes scored by expiry
//   i:<id>       STRING the token index
//   r:<token>    STRING expiry (epoch ms): a revocation, kept until the token would have expired
// Related keys are derived inside the scripts from the prefix; each script is also given one key it
// reads as KEYS[1], for a cluster client's routing. On a Redis Cluster the prefix is a hash tag,
// `{tokenvault:store}`, so every key of the store is in one slot (redis-store.ts, hashTag).
// "now" is the caller's clock, passed in, so expiry means the same in every backend.
// store, delete and revoke PUBLISH the token index to `<prefix>:changes` inside the script, so the
// notice goes with the write (processes' read caches listen: changes/redis-changes.ts).

/** Shared by the scripts that remove an entry: drop it from its subject and id indexes. */
const UNLINK = `
local function unlink(p, h, s, i)
  if s then redis.call('ZREM', p .. ':s:' .. s, h) end
  if i and redis.call('GET', p .. ':i:' .. i) == h then redis.call('DEL', p .. ':i:' .. i) end
  redis.call('DEL', p .. ':t:' .. h)
end
`;

export const SCRIPTS = {
  // ARGV: prefix, token index, sealed, expiry, now, subject index, id index
  store: `${UNLINK}
local p, h, exp, now = ARGV[1], ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5])
local revoked = redis.call('GET', p .. ':r:' .. h)
if revoked and tonumber(revoked) > now then return 'revoked' end
local old = redis.call('HMGET', p .. ':t:' .. h, 's', 'i')
if old[1] then unlink(p, h, old[1], old[2]) end
local t, s, i = p .. ':t:' .. h, p .. ':s:' .. ARGV[6], p .. ':i:' .. ARGV[7]
redis.call('HSET', t, 'm', ARGV[3], 'x', ARGV[4], 's', ARGV[6], 'i', ARGV[7])
redis.call('PEXPIREAT', t, exp)
redis.call('ZADD', s, exp, h)
local last = redis.call('ZRANGE', s, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', s, tonumber(last[2]))
redis.call('SET', i, h, 'PXAT', exp)
redis.call('PUBLISH', p .. ':changes', h)
return 'ok'`,

  // ARGV: prefix, token index, now -> sealed metadata or false. The entry alone answers: a revoked
  // token has none (revoke deletes it in the same script that records the revocation, and store
  // refuses the token while the revocation lasts), so the hot read is one command, not two.
  get: `
local v = redis.call('HMGET', ARGV[1] .. ':t:' .. ARGV[2], 'm', 'x')
if not v[1] or tonumber(v[2]) <= tonumber(ARGV[3]) then return false end
return v[1]`,

  // ARGV: prefix, id index, now -> {token index, sealed} or false
  getById: `
local p, now = ARGV[1], tonumber(ARGV[3])
local h = redis.call('GET', p .. ':i:' .. ARGV[2])
if not h then return false end
local revoked = redis.call('GET', p .. ':r:' .. h)
if revoked and tonumber(revoked) > now then return false end
local v = redis.call('HMGET', p .. ':t:' .. h, 'm', 'x')
if not v[1] or tonumber(v[2]) <= now then return false end
return {h, v[1]}`,

  // ARGV: prefix, token index, now -> 1 when a live entry was removed
  delete: `${UNLINK}
local p, h, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local v = redis.call('HMGET', p .. ':t:' .. h, 'x', 's', 'i')
if not v[1] then return 0 end
unlink(p, h, v[2], v[3])
redis.call('PUBLISH', p .. ':changes', h)
if tonumber(v[1]) > now then return 1 end
return 0`,

  // ARGV: prefix, subject index, now, limit -> {token index, sealed, ...}
  list: `
local p, now = ARGV[1], ARGV[3]
local members = redis.call('ZRANGEBYSCORE', p .. ':s:' .. ARGV[2], '(' .. now, '+inf', 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, h in ipairs(members) do
  local m = redis.call('HGET', p .. ':t:' .. h, 'm')
  if m then out[#out + 1] = h; out[#out + 1] = m end
end
return out`,

  // ARGV: prefix, token index, now -> 1 when a live entry was revoked
  revoke: `${UNLINK}
local p, h, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local v = redis.call('HMGET', p .. ':t:' .. h, 'x', 's', 'i')
if not v[1] or tonumber(v[1]) <= now then return 0 end
unlink(p, h, v[2], v[3])
local r = p .. ':r:' .. h
redis.call('SET', r, v[1])
redis.call('PEXPIREAT', r, tonumber(v[1]))
redis.call('PUBLISH', p .. ':changes', h)
return 1`,

  // ARGV: prefix, token index, now -> 1 while revoked
  isRevoked: `
local revoked = redis.call('GET', ARGV[1] .. ':r:' .. ARGV[2])
if revoked and tonumber(revoked) > tonumber(ARGV[3]) then return 1 end
return 0`,

  // ARGV: prefix, now, subject indexes to visit -> entries removed. Resumes a SCAN where the last call stopped.
  cleanup: `${UNLINK}
local p, now = ARGV[1], ARGV[2]
local cursorKey = p .. ':cleanup-cursor'
local cursor = redis.call('GET', cursorKey) or '0'
local reply = redis.call('SCAN', cursor, 'MATCH', p .. ':s:*', 'COUNT', tonumber(ARGV[3]))
local removed = 0
for _, s in ipairs(reply[2]) do
  local expired = redis.call('ZRANGEBYSCORE', s, '-inf', now)
  for _, h in ipairs(expired) do
    local v = redis.call('HMGET', p .. ':t:' .. h, 's', 'i')
    if v[1] then unlink(p, h, v[1], v[2]); removed = removed + 1 end
  end
  redis.call('ZREMRANGEBYSCORE', s, '-inf', now)
end
-- Kept for an hour: a store that stops cleaning leaves nothing behind for good.
redis.call('SET', cursorKey, reply[1], 'PX', 3600000)
return removed`,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

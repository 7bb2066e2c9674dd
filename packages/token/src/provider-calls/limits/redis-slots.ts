// The slot algorithm (slot-store.ts) as one Lua script: atomic per call, timed by the Redis
// server's clock (TIME), so every process sees one clock. Holders and waiters are sorted sets
// scored by expiry (a crashed holder's slot ends with its lease); each budget is a sliding-window
// log (a sorted set of admissions scored by time).
import { createHash } from "node:crypto";
import type { createClient } from "redis";
import { slotKeys, POLL_MS, type ReleaseRequest, type SlotAnswer, type SlotRequest, type SlotStore } from "./slot-store";
import type { CallLimitSettings, CallScope } from "./call-limiter";

type RedisClient = Pick<ReturnType<typeof createClient>, "eval" | "evalSha" | "zRem" | "close" | "duplicate">;

const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, concurrency, lease, ttl, n, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, w in ipairs(dead) do redis.call('ZREM', KEYS[2], w) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if not redis.call('ZSCORE', KEYS[2], id) then redis.call('ZADD', KEYS[2], now, id) end
redis.call('ZADD', KEYS[3], now + ttl, id)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
redis.call('PEXPIRE', KEYS[3], ttl * 2)
local rank = redis.call('ZRANK', KEYS[2], id)
local free = concurrency - redis.call('ZCARD', KEYS[1])
local wait = 0
if free <= 0 then wait = ${POLL_MS} end
local left = {}
for i = 1, n do
  local key, points, window = KEYS[3 + i], tonumber(ARGV[5 + 2 * i]), tonumber(ARGV[6 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  left[i] = points - redis.call('ZCARD', key)
  if left[i] < free then free = left[i] end
  if left[i] <= 0 then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now + 1
    if w > wait then wait = w end
  end
end
local k = math.min(count, free - rank, math.ceil(free / redis.call('ZCARD', KEYS[2])))
if k >= 1 then
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  for j = 1, k do redis.call('ZADD', KEYS[1], now + lease, id .. ':' .. j) end
  redis.call('PEXPIRE', KEYS[1], lease * 2)
  for i = 1, n do
    for j = 1, k do redis.call('ZADD', KEYS[3 + i], now, id .. ':' .. j) end
    redis.call('PEXPIRE', KEYS[3 + i], tonumber(ARGV[6 + 2 * i]) + 1000)
    left[i] = left[i] - k
  end
  if free - k > 0 then redis.call('PUBLISH', ARGV[#ARGV - 1], ARGV[#ARGV]) end
  return {k, unpack(left)}
end
if wait == 0 then wait = ${POLL_MS} end
return {0, wait}
`;

const NO_RATES = { tenantRates: [], appRates: [] };
const tenantKey = (scope: CallScope) => `${scope.provider}\u0000${scope.tenant}`;

/**
 * Frees the slot; moves the call's budget entries (only where it still has one: XX) to now, or
 * removes them when the call was never sent (ARGV[4] "1"); tells the waiters of every process.
 */
const RELEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  if ARGV[4] == '1' then redis.call('ZREM', KEYS[i], ARGV[1]) else redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1]) end
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`;

/** Entries of each budget inside its window, by the server's clock (as TAKE counts them). */
const USAGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local counts = {}
for i = 1, #KEYS do counts[i] = redis.call('ZCOUNT', KEYS[i], '(' .. (now - tonumber(ARGV[i])), '+inf') end
return counts
`;

/** A holder's lease from now (by the server's clock), only while it holds (not yet expired). */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if expiry and tonumber(expiry) > now then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  -- The set itself outlives its longest lease (TAKE sets twice a lease; never shortened here).
  if redis.call('PTTL', KEYS[1]) < 2 * tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2])) end
end
return 1
`;

const SHAS = new Map<string, string>();

export class RedisSlotStore implements SlotStore {
  constructor(
    private readonly redis: RedisClient,
    /** Closed with the store when this store made it. */
    private readonly owned = false,
    /** Key prefix (tests use their own). */
    private readonly prefix = "tokenvault",
  ) {
    this.channel = `${prefix}:calls:freed`;
  }

  private readonly channel: string;
  private subscriber: ReturnType<RedisClient["duplicate"]> | null = null;

  async tryTake({ scope, settings, id, count, waiterTtlMs }: SlotRequest): Promise<SlotAnswer> {
    const keys = slotKeys(scope, settings, this.prefix);
    const args = [id, String(settings.tenantConcurrency), String(settings.leaseMs), String(waiterTtlMs), String(keys.rates.length), String(count)];
    for (const rate of keys.rates) args.push(String(rate.points), String(rate.windowMs));
    // Last: where to say that slots are left after this admission (other processes' waiters ask at once).
    args.push(this.channel, tenantKey(scope));
    const reply = (await this.run(TAKE, { keys: [keys.holders, keys.waiters, keys.alive, ...keys.rates.map((r) => r.key)], arguments: args })) as number[];
    if (reply[0]! < 1) return { admitted: 0, remaining: {}, retryInMs: Number(reply[1]) };
    const remaining: Record<string, number> = {};
    keys.rates.forEach((rate, i) => {
      if (rate.tenant) remaining[rate.name] = Math.max(0, Number(reply[i + 1])) / rate.points;
    });
    return { admitted: Number(reply[0]), remaining, retryInMs: 0 };
  }

  async release({ scope, settings, id, unused }: ReleaseRequest): Promise<void> {
    const keys = slotKeys(scope, settings, this.prefix);
    await this.run(RELEASE, { keys: [keys.holders, ...keys.rates.map((r) => r.key)], arguments: [id, this.channel, tenantKey(scope), unused ? "1" : "0"] });
  }

  async usage(scope: CallScope, settings: CallLimitSettings): Promise<Record<string, number>> {
    const rates = slotKeys(scope, { tenantRates: settings.tenantRates, appRates: [] }, this.prefix).rates;
    if (rates.length === 0) return {};
    const reply = (await this.run(USAGE, { keys: rates.map((r) => r.key), arguments: rates.map((r) => String(r.windowMs)) })) as number[];
    return Object.fromEntries(rates.map((r, i) => [r.name, Number(reply[i])]));
  }

  /**
   * A script by its SHA1 (EVALSHA): every turn sent the whole script text (EVAL) before, which
   * Redis hashed again each time. Loaded by EVAL the first time, and again after a SCRIPT FLUSH
   * or a failover (NOSCRIPT).
   */
  private async run(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    let sha = SHAS.get(script);
    if (!sha) SHAS.set(script, (sha = createHash("sha1").update(script).digest("hex")));
    try {
      return await this.redis.evalSha(sha, options);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return this.redis.eval(script, options);
    }
  }

  async renew({ scope, id, leaseMs }: { scope: CallScope; id: string; leaseMs: number }): Promise<void> {
    const keys = slotKeys(scope, NO_RATES, this.prefix);
    await this.run(RENEW, { keys: [keys.holders], arguments: [id, String(leaseMs)] });
  }

  async leave(scope: CallScope, id: string): Promise<void> {
    const keys = slotKeys(scope, NO_RATES, this.prefix);
    await this.redis.zRem(keys.waiters, id);
    await this.redis.zRem(keys.alive, id);
  }

  /** One subscriber connection per store (a subscribed node-redis client takes no other command). */
  watch(listener: (tenantKey: string) => void): void {
    if (this.subscriber) return;
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on("error", () => undefined); // reconnects on its own; meanwhile waiters poll
    void subscriber
      .connect()
      .then(() => subscriber.subscribe(this.channel, (message) => listener(message)))
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.subscriber?.close().catch(() => undefined);
    if (this.owned) await this.redis.close();
  }
}

// The Upstash endpoint driven by the real @upstash/redis client, over HTTP, in front of the real
// Redis on 127.0.0.1:6379 (REDIS_URL to change it). Each run writes under its own key prefix and
// deletes what it wrote.
import { createHash, randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startSimulator, type Simulator } from "../src/index";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const TOKEN = `upstash-test-${randomBytes(8).toString("hex")}`;
const prefix = `test:sim-upstash:${randomBytes(6).toString("hex")}`;
const key = (name: string) => `${prefix}:${name}`;

let sim: Simulator;
let direct: ReturnType<typeof createClient>;
/** The client as apps make it: auto-pipelining on (every command goes to /pipeline), base64 replies. */
let redis: Redis;
/** One request per command, to POST <base>/. */
let single: Redis;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error as Error,
  );
}

async function post(path: string, command: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  const response = await fetch(`${sim.upstash!.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(command) });
  const body: unknown = await response.json();
  return { status: response.status, body };
}

beforeAll(async () => {
  sim = await startSimulator({ upstash: { redisUrl: REDIS_URL, token: TOKEN } });
  direct = createClient({ url: REDIS_URL });
  await direct.connect();
  redis = new Redis({ url: sim.upstash!.url, token: TOKEN });
  single = new Redis({ url: sim.upstash!.url, token: TOKEN, enableAutoPipelining: false });
});

afterAll(async () => {
  const keys: string[] = [];
  for await (const batch of direct.scanIterator({ MATCH: `${prefix}:*`, COUNT: 100 })) keys.push(...batch);
  if (keys.length > 0) await direct.del(keys);
  await direct.close();
  await sim.close();
});

describe("Upstash REST endpoint", () => {
  it("is mounted at /upstash and only when configured", async () => {
    expect(sim.upstash).toEqual({ url: `${sim.url}/upstash`, token: TOKEN });
    const plain = await startSimulator();
    try {
      expect(plain.upstash).toBeUndefined();
      expect((await fetch(`${plain.url}/upstash`, { method: "POST", body: "[]" })).status).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it("runs single commands against the real Redis, UTF-8 exact", async () => {
    const text = "héllo ✓ 🚀 \"quoted\"";
    expect(await single.set(key("a"), text)).toBe("OK");
    expect(await direct.get(key("a"))).toBe(text);
    expect(await single.get(key("a"))).toBe(text);
    expect(await single.get(key("missing"))).toBeNull();
    expect(await single.incr(key("n"))).toBe(1);
    expect(await single.hset(key("h"), { f: "v", g: "w" })).toBe(2);
    expect(await single.hgetall(key("h"))).toEqual({ f: "v", g: "w" });
    expect(await single.zadd(key("z"), { score: 2, member: "b" }, { score: 1, member: "a" })).toBe(2);
    expect(await single.zrange(key("z"), 0, -1)).toEqual(["a", "b"]);
    expect(await single.type(key("h"))).toBe("hash");
    expect(await single.ping()).toBe("PONG");
    expect(await single.del(key("n"))).toBe(1);
  });

  it("serves the default client, whose commands go to /pipeline with Upstash-Encoding: base64", async () => {
    const spy = vi.spyOn(globalThis, "fetch");
    try {
      // Ten letters are valid base64: were the reply not encoded, the client would decode it into garbage.
      await redis.set(key("default"), "tokenvault");
      expect(await redis.get(key("default"))).toBe("tokenvault");
      const [url, init] = spy.mock.calls[0]!;
      expect(url).toBe(`${sim.upstash!.url}/pipeline`);
      expect(init?.headers).toMatchObject({ "Upstash-Encoding": "base64", authorization: `Bearer ${TOKEN}` });
    } finally {
      spy.mockRestore();
    }
  });

  it("base64-encodes every string but a top-level OK when asked, and nothing otherwise", async () => {
    await direct.set(key("b64"), "héllo");
    const b64 = (text: string) => Buffer.from(text).toString("base64");
    const headers = { authorization: `Bearer ${TOKEN}`, "upstash-encoding": "base64" };
    expect(await post("", ["GET", key("b64")], headers)).toEqual({ status: 200, body: { result: b64("héllo") } });
    expect(await post("", ["SET", key("b64"), "x"], headers)).toEqual({ status: 200, body: { result: "OK" } });
    expect(await post("", ["PING"], headers)).toEqual({ status: 200, body: { result: b64("PONG") } });
    expect(await post("", ["EVAL", "return {1, 'two', false, {'three', redis.status_reply('OK')}}", 0], headers)).toEqual({ status: 200, body: { result: [1, b64("two"), null, [b64("three"), b64("OK")]] } });
    expect(await post("/pipeline", [["GET", key("b64")], ["INCR", key("b64")]], headers)).toEqual({
      status: 200,
      body: [{ result: b64("x") }, { error: "ERR value is not an integer or out of range" }],
    });
    expect(await post("", ["GET", key("b64")])).toEqual({ status: 200, body: { result: "x" } });
    const plain = new Redis({ url: sim.upstash!.url, token: TOKEN, responseEncoding: false });
    expect(await plain.get(key("b64"))).toBe("x");
  });

  it("pipelines in order, each command answering for itself", async () => {
    await direct.set(key("p"), "text");
    const results = await single.pipeline().set(key("p1"), "1").incr(key("p1")).hget(key("p"), "f").get(key("p")).exec({ keepErrors: true });
    expect(results).toEqual([
      { result: "OK", error: undefined },
      { result: 2, error: undefined },
      { result: undefined, error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
      { result: "text", error: undefined },
    ]);
    const error = await rejection(single.pipeline().get(key("p")).hget(key("p"), "f").exec());
    expect(error.message).toContain("WRONGTYPE");
  });

  it("runs multi-exec inside MULTI/EXEC: atomic, errors in place, a refused command aborts all", async () => {
    expect(await single.multi().set(key("m"), "1").incr(key("m")).get(key("m")).exec()).toEqual(["OK", 2, 2]);
    const inPlace = await single.multi().set(key("m2"), "a").incr(key("m2")).set(key("m3"), "b").exec({ keepErrors: true });
    expect(inPlace.map((entry) => entry.error)).toEqual([undefined, "ERR value is not an integer or out of range", undefined]);
    expect(await direct.get(key("m3"))).toBe("b");
    // INCR with two keys is refused as it is queued: EXEC runs nothing.
    const aborted = await post("/multi-exec", [["SET", key("m4"), "x"], ["INCR", key("m4"), "extra"]]);
    expect(aborted.status).toBe(400);
    expect(aborted.body).toEqual({ error: expect.stringContaining("wrong number of arguments") as string });
    expect(await direct.exists(key("m4"))).toBe(0);
  });

  it("runs EVAL and EVALSHA; an unknown SHA fails with Redis's NOSCRIPT in the client's error", async () => {
    const script = `return {redis.call('SET', KEYS[1], ARGV[1]), redis.call('GET', KEYS[1]), tonumber(ARGV[2]) + 1, false} -- ${prefix}`;
    expect(await single.eval(script, [key("lua")], ["v", "41"])).toEqual(["OK", "v", 42, null]);
    const sha = await single.scriptLoad(script);
    expect(sha).toBe(createHash("sha1").update(script).digest("hex"));
    expect(await redis.evalsha(sha, [key("lua")], ["w", "1"])).toEqual(["OK", "w", 2, null]);
    const unknown = createHash("sha1").update(`never loaded ${prefix}`).digest("hex");
    for (const client of [single, redis]) {
      const error = await rejection(client.evalsha(unknown, [], []));
      expect(error.message).toContain("NOSCRIPT");
    }
    expect(await post("", ["EVALSHA", unknown, 0])).toEqual({ status: 400, body: { error: "NOSCRIPT No matching script. Please use EVAL." } });
  });

  it("answers a wrong or missing token with 401, and the client throws", async () => {
    const wrong = new Redis({ url: sim.upstash!.url, token: "not-the-token", enableAutoPipelining: false });
    expect((await rejection(wrong.get(key("a")))).message).toContain("WRONGPASS");
    expect(await post("", ["PING"], { authorization: "Bearer nope" })).toEqual({ status: 401, body: { error: "WRONGPASS invalid or missing auth token" } });
    expect((await post("/pipeline", [["PING"]], {})).status).toBe(401);
    expect((await post(`/multi-exec?_token=${TOKEN}`, [["PING"]], {})).status).toBe(200);
  });

  it("refuses malformed bodies and connection-state commands with 400", async () => {
    expect(await post("", { not: "an array" })).toEqual({ status: 400, body: { error: expect.stringMatching(/^ERR /) as string } });
    expect((await post("", ["SET", key("x"), null])).status).toBe(400);
    expect((await post("/pipeline", [])).status).toBe(400);
    expect((await post("", ["SELECT", 1])).body).toEqual({ error: expect.stringContaining("SELECT") as string });
    expect((await post("/pipeline", [["PING"], ["SUBSCRIBE", "c"]])).status).toBe(400);
  });

  it("fails to start, rather than hang, when Redis cannot be reached", async () => {
    const error = await rejection(startSimulator({ upstash: { redisUrl: "redis://127.0.0.1:1", token: TOKEN } }));
    expect(error.message).toContain("ECONNREFUSED");
  });
});

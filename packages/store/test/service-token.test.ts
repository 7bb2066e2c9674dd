import { randomBytes, randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createServiceTokens, InMemoryTokenStore, ServiceTokenError, StorageError, type Minter, type ServiceTokensOptions, type StoreLock } from "../src/index";
import { TestClock, testVault } from "./conformance";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

/** A one-process StoreLock for these tests (the package's in-memory lock lands separately). */
class TestLock implements StoreLock {
  private readonly held = new Map<string, { owner: string; until: number }>();
  acquire(name: string, ttlMs: number): Promise<string | null> {
    const holder = this.held.get(name);
    if (holder && holder.until > Date.now()) return Promise.resolve(null);
    const owner = randomUUID();
    this.held.set(name, { owner, until: Date.now() + ttlMs });
    return Promise.resolve(owner);
  }
  release(name: string, owner: string): Promise<void> {
    if (this.held.get(name)?.owner === owner) this.held.delete(name);
    return Promise.resolve();
  }
}

/** A minter issuing `lifetimeMs` tokens on the test clock, counting its calls; `fail` makes it throw. */
function minter(clock: TestClock, lifetimeMs: number, delayMs = 0) {
  const state = { calls: 0, fail: false as boolean | Error, signals: [] as AbortSignal[] };
  const mint: Minter = async ({ signal }) => {
    state.calls++;
    state.signals.push(signal);
    if (delayMs) await sleep(delayMs);
    if (state.fail) throw state.fail instanceof Error ? state.fail : new ServiceTokenError("MINT_FAILED", "the token endpoint refused (HTTP 503)", { status: 503 });
    return { token: `tok-${state.calls}-${randomBytes(8).toString("hex")}`, expiresAt: new Date(clock.now().getTime() + lifetimeMs) };
  };
  return Object.assign(state, { mint });
}

const quiet = { info: () => {}, warn: () => {} };

function setup(lifetimeMs = 10 * MINUTE, delayMs = 0) {
  const clock = new TestClock();
  const store = new InMemoryTokenStore({ vault: testVault(), clock, sweepIntervalMs: 0 });
  const lock = new TestLock();
  const m = minter(clock, lifetimeMs, delayMs);
  const make = (extra: Partial<ServiceTokensOptions> = {}) => createServiceTokens({ store, lock, mint: m.mint, envToken: null, clock, logger: quiet, ...extra });
  return { clock, store, lock, m, make };
}

async function failure(promise: Promise<unknown>): Promise<ServiceTokenError> {
  const error = await promise.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  if (!(error instanceof ServiceTokenError)) throw error;
  return error;
}

afterEach(() => vi.restoreAllMocks());

describe("service tokens", () => {
  it("mints once, then serves from the process and, for another process, from the store", async () => {
    const { store, m, make, clock } = setup();
    const a = make();
    const first = await a.getServiceToken();
    expect(await a.getServiceToken("default")).toBe(first);
    expect(m.calls).toBe(1);
    const other = minter(clock, 10 * MINUTE);
    expect(await make({ mint: other.mint }).getServiceToken()).toBe(first);
    expect(other.calls).toBe(0);
    // What the store holds: the value in the sealed claims of a fixed lookup token.
    expect((await store.get("service-token:default"))?.claims?.value).toBe(first);
    const billing = await a.getServiceToken("billing");
    expect(billing).not.toBe(first);
    expect(m.calls).toBe(2);
  });

  it("mints exactly once for many concurrent callers in several instances sharing a store and lock", async () => {
    const { m, make } = setup(10 * MINUTE, 50);
    const instances = Array.from({ length: 4 }, () => make({ pollMs: 5 }));
    const tokens = await Promise.all(instances.flatMap((s) => Array.from({ length: 25 }, () => s.getServiceToken())));
    expect(new Set(tokens).size).toBe(1);
    expect(m.calls).toBe(1);
  });

  it("re-reads under the lock: a process that saw no token but got the lock after another's mint does not mint", async () => {
    const { lock, m, make } = setup();
    let opened!: () => void;
    const gate = new Promise<void>((resolve) => (opened = resolve));
    const lockA: StoreLock = { acquire: (n, t) => lock.acquire(n, t), release: async (n, o) => (await lock.release(n, o), opened()) };
    const lockB: StoreLock = { acquire: async (n, t) => (await gate, lock.acquire(n, t)), release: (n, o) => lock.release(n, o) };
    const late = make({ lock: lockB }).getServiceToken(); // reads an empty store, then waits at the lock
    await sleep(20);
    const minted = await make({ lock: lockA }).getServiceToken();
    expect(await late).toBe(minted);
    expect(m.calls).toBe(1);
  });

  it("mints again inside the margin, not before", async () => {
    const { clock, m, make } = setup(10 * MINUTE);
    const service = make({ marginMs: MINUTE });
    const first = await service.getServiceToken();
    clock.advance(8 * MINUTE + 59 * SECOND);
    expect(await service.getServiceToken()).toBe(first);
    clock.advance(2 * SECOND);
    const second = await service.getServiceToken();
    expect(second).not.toBe(first);
    expect(m.calls).toBe(2);
  });

  it("caps the margin at half the token's lifetime", async () => {
    const { clock, m, make } = setup(MINUTE);
    const service = make({ marginMs: 5 * MINUTE });
    const first = await service.getServiceToken();
    clock.advance(29 * SECOND);
    expect(await service.getServiceToken()).toBe(first);
    clock.advance(2 * SECOND);
    expect(await service.getServiceToken()).not.toBe(first);
    expect(m.calls).toBe(2);
  });

  it("a failing minter: a typed error, then a cooldown in which nobody mints, this process or another", async () => {
    const { clock, m, make } = setup();
    m.fail = new Error("connection reset by a proxy that quotes secrets");
    const service = make({ cooldownMs: 30 * SECOND });
    const first = await failure(service.getServiceToken());
    expect(first.code).toBe("MINT_FAILED");
    expect(first.message).not.toContain("quotes secrets");
    clock.advance(29 * SECOND);
    const during = await Promise.all(Array.from({ length: 20 }, () => failure(service.getServiceToken())));
    expect(during.map((e) => e.code)).toEqual(Array(20).fill("MINT_FAILED"));
    expect(during[0]!.retryAt?.getTime()).toBe(clock.now().getTime() + SECOND);
    // Another process sees the cooldown in the store.
    expect((await failure(make().getServiceToken())).code).toBe("MINT_FAILED");
    expect(m.calls).toBe(1);
    clock.advance(2 * SECOND);
    m.fail = false;
    const token = await service.getServiceToken();
    expect(token).toMatch(/^tok-2-/);
    expect(m.calls).toBe(2);
  });

  it("keeps its own cooldown when the store cannot record it", async () => {
    const { store, m, make } = setup();
    const refusing = Object.create(store) as InMemoryTokenStore;
    refusing.store = (token, metadata) => (token.startsWith("service-token-cooldown:") ? Promise.reject(new StorageError("store", "UNAVAILABLE", "down")) : store.store(token, metadata));
    m.fail = true;
    const service = make({ store: refusing });
    expect((await failure(service.getServiceToken())).code).toBe("MINT_FAILED");
    expect((await failure(service.getServiceToken())).retryAt).not.toBeNull();
    expect(m.calls).toBe(1);
  });

  it("serves a still-valid cached token while minting fails, until it expires", async () => {
    const { clock, m, make } = setup(10 * MINUTE);
    const service = make({ marginMs: MINUTE, cooldownMs: 30 * SECOND });
    const cached = await service.getServiceToken();
    m.fail = true;
    clock.advance(9 * MINUTE + 30 * SECOND); // inside the margin: a mint is due, and fails
    expect(await service.getServiceToken()).toBe(cached);
    expect(m.calls).toBe(2);
    clock.advance(20 * SECOND); // cooling down: no attempt, the token still serves
    expect(await service.getServiceToken()).toBe(cached);
    expect(m.calls).toBe(2);
    clock.advance(15 * SECOND); // cooldown over, token expired: one attempt, then the error
    const error = await failure(service.getServiceToken());
    expect(error.code).toBe("MINT_FAILED");
    expect(error.status).toBe(503);
    expect(m.calls).toBe(3);
  });

  it("times a hanging minter out with MINT_TIMEOUT, aborting its signal, and cools down", async () => {
    const { m, make } = setup();
    const hanging: Minter = (request) => (m.signals.push(request.signal), new Promise(() => {}));
    const service = make({ mint: hanging, mintTimeoutMs: 100 });
    expect((await failure(service.getServiceToken())).code).toBe("MINT_TIMEOUT");
    expect(m.signals[0]?.aborted).toBe(true);
    const again = await failure(service.getServiceToken());
    expect(again.code).toBe("MINT_TIMEOUT");
    expect(again.retryAt).not.toBeNull();
    expect(m.signals).toHaveLength(1);
  });

  it("refuses what a minter should not return", async () => {
    const { clock, make } = setup();
    const spaced = make({ mint: () => Promise.resolve({ token: "has a space", expiresAt: new Date(clock.now().getTime() + MINUTE) }) });
    expect((await failure(spaced.getServiceToken())).detail).toMatch(/whitespace/);
    const stale = make({ mint: () => Promise.resolve({ token: "stale-token", expiresAt: new Date(clock.now().getTime() - 1) }), cooldownMs: 0 });
    expect((await failure(stale.getServiceToken("other"))).code).toBe("MINT_FAILED");
  });

  it("waits a bounded time for another holder of the lock, minting nothing", async () => {
    const { lock, m, make } = setup();
    expect(await lock.acquire("service-token:default", MINUTE)).not.toBeNull();
    const started = performance.now();
    const error = await failure(make({ waitMs: 200, pollMs: 20 }).getServiceToken());
    expect(error.code).toBe("WAIT_TIMEOUT");
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(m.calls).toBe(0);
  });

  it("refuses bad names and bad configuration", async () => {
    const { make, store } = setup();
    expect((await failure(make().getServiceToken("has space"))).code).toBe("INVALID_INPUT");
    expect(() => createServiceTokens({ envToken: null, mint: () => Promise.reject(new Error("x")) })).toThrow(/store and lock are required/);
    expect(() => make({ mintTimeoutMs: 1_000, lockTtlMs: 1_000 })).toThrow(/lockTtlMs/);
    expect(() => createServiceTokens({ store, lock: new TestLock(), envToken: null, clientCredentials: { tokenEndpoint: "ftp://x", clientId: "a", clientSecret: "b" } })).toThrow(/http\(s\)/);
  });
});

describe("a pre-provisioned service token", () => {
  const TOKEN = `pre-provisioned-${randomBytes(16).toString("hex")}`;

  it("skips minting for every name, needs no store, and never appears in logs or inspection", async () => {
    const lines: string[] = [];
    const capture = { info: (m: string, f?: object) => lines.push(m + JSON.stringify(f)), warn: (m: string, f?: object) => lines.push(m + JSON.stringify(f)) };
    const consoleLines: string[] = [];
    for (const method of ["log", "info", "warn", "error", "debug"] as const) vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleLines.push(args.map(String).join(" ")));
    let mints = 0;
    const service = createServiceTokens({ envToken: TOKEN, mint: () => (mints++, Promise.reject(new Error("never"))), logger: capture });
    expect(await service.getServiceToken()).toBe(TOKEN);
    expect(await service.getServiceToken("billing")).toBe(TOKEN);
    expect(mints).toBe(0);
    expect((await failure(service.getServiceToken("no good"))).code).toBe("INVALID_INPUT");
    const seen = [...lines, ...consoleLines, inspect(service, { depth: 10, showHidden: true }), JSON.stringify(service)].join("\n");
    expect(seen).not.toContain(TOKEN);
  });

  it("is refused at start-up when malformed, the error naming the option but not the value", () => {
    for (const bad of ["", "contains a space-xxxxxxxxxxxx", `tab\there-xxxxxxxxxxxxxx`, "sh0rtT0k", "é".repeat(20), "x".repeat(8193)]) {
      let error: unknown;
      try {
        createServiceTokens({ envToken: bad, logger: quiet });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ServiceTokenError);
      expect((error as ServiceTokenError).code).toBe("CONFIGURATION");
      expect((error as ServiceTokenError).message).toMatch(/^service token CONFIGURATION: envToken /);
      if (bad.length > 0) expect((error as ServiceTokenError).message).not.toContain(bad);
    }
  });
});

// One conformance suite for every TokenStore backend: the same calls must give the same answers.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyRing, Vault } from "@tokenvault/vault";
import type { Clock } from "../src/clock";
import { StorageError } from "../src/errors";
import { LOCK_LIMITS } from "../src/lock-input";
import type { NewTokenMetadata, StoreLock, TokenStore } from "../src/types";

/** A clock tests move forward by hand. */
export class TestClock implements Clock {
  private offsetMs = 0;
  private readonly base = Date.now();
  now(): Date {
    return new Date(this.base + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface BackendUnderTest {
  store: TokenStore;
  /** The backend's StoreLock (the store itself, or the lock on the same client): every backend has one. */
  lock: StoreLock;
  /** Every key and value the backend holds for this store, as text (absent for memory). */
  dump?: () => Promise<string>;
  /** The same backend data through a store with another vault (a key rotation); absent where nothing is shared (memory). */
  reopen?: (vault: Vault) => Promise<TokenStore>;
}

export type MakeBackend = (options: { vault: Vault; clock: Clock; namespace: string }) => Promise<BackendUnderTest>;

export const testVault = () => new Vault(createKeyRing(randomBytes(32)));
const MINUTE = 60_000;

function meta(clock: Clock, overrides: Partial<NewTokenMetadata> = {}): NewTokenMetadata {
  return { id: `id-${randomBytes(4).toString("hex")}`, subject: "service-a", expiresAt: new Date(clock.now().getTime() + 10 * MINUTE), ...overrides };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "resolved",
    (error: unknown) => (error instanceof StorageError ? error.code : `not a StorageError: ${String(error)}`),
  );
}

export function tokenStoreConformance(name: string, make: MakeBackend): void {
  describe(`TokenStore conformance: ${name}`, () => {
    const clock = new TestClock();
    const material = randomBytes(32);
    const vault = new Vault(createKeyRing(material));
    let backend: BackendUnderTest;
    let store: TokenStore;
    beforeAll(async () => {
      backend = await make({ vault, clock, namespace: `conformance-${randomBytes(4).toString("hex")}` });
      store = backend.store;
    });
    afterAll(() => store.close());

    it("stores and reads back every field, by token and by id", async () => {
      const expiresAt = new Date(clock.now().getTime() + 5 * MINUTE);
      const issuedAt = new Date(clock.now().getTime() - MINUTE);
      await store.store("tok-round-trip", { id: "jti-1", subject: "svc-round", expiresAt, issuedAt, scopes: ["read", "write"], claims: { aud: "billing", n: 3, nested: { ok: true } } });
      const expected = { id: "jti-1", subject: "svc-round", expiresAt, issuedAt, scopes: ["read", "write"], claims: { aud: "billing", n: 3, nested: { ok: true } } };
      expect(await store.get("tok-round-trip")).toEqual(expected);
      expect(await store.getById("jti-1")).toEqual(expected);
      expect(await store.get("tok-unknown")).toBeNull();
      expect(await store.getById("jti-unknown")).toBeNull();
    });

    it("defaults issuedAt to now and replaces an entry stored again", async () => {
      await store.store("tok-replace", meta(clock, { id: "jti-r", subject: "svc-old" }));
      expect((await store.get("tok-replace"))?.issuedAt).toEqual(clock.now());
      await store.store("tok-replace", meta(clock, { id: "jti-r2", subject: "svc-new" }));
      expect((await store.get("tok-replace"))?.subject).toBe("svc-new");
      expect(await store.list("svc-old")).toEqual([]);
      expect(await store.getById("jti-r")).toBeNull();
      expect((await store.list("svc-new")).map((m) => m.id)).toEqual(["jti-r2"]);
    });

    it("lists a subject's live tokens only, soonest expiry first", async () => {
      const now = clock.now().getTime();
      await store.store("tok-l3", meta(clock, { id: "l3", subject: "svc-list", expiresAt: new Date(now + 30 * MINUTE) }));
      await store.store("tok-l1", meta(clock, { id: "l1", subject: "svc-list", expiresAt: new Date(now + 10 * MINUTE) }));
      await store.store("tok-l2", meta(clock, { id: "l2", subject: "svc-list", expiresAt: new Date(now + 20 * MINUTE) }));
      await store.store("tok-other", meta(clock, { id: "o1", subject: "svc-elsewhere" }));
      expect((await store.list("svc-list")).map((m) => m.id)).toEqual(["l1", "l2", "l3"]);
      expect(await store.list("svc-nobody")).toEqual([]);
    });

    it("never returns an expired token, before or after cleanup", async () => {
      const local = new TestClock();
      const isolated = await make({ vault, clock: local, namespace: `expiry-${randomBytes(4).toString("hex")}` });
      try {
        const s = isolated.store;
        await s.store("tok-short", meta(local, { id: "short", subject: "svc-exp", expiresAt: new Date(local.now().getTime() + MINUTE) }));
        await s.store("tok-long", meta(local, { id: "long", subject: "svc-exp", expiresAt: new Date(local.now().getTime() + 60 * MINUTE) }));
        local.advance(2 * MINUTE);
        expect(await s.get("tok-short")).toBeNull();
        expect(await s.getById("short")).toBeNull();
        expect((await s.list("svc-exp")).map((m) => m.id)).toEqual(["long"]);
        expect(await s.revoke("tok-short")).toBe(false);
        let removed = 0;
        for (let i = 0; i < 20; i++) removed += await s.cleanup();
        expect(removed).toBeLessThanOrEqual(1);
        expect(await s.get("tok-short")).toBeNull();
        expect((await s.get("tok-long"))?.id).toBe("long");
        expect(await s.delete("tok-short")).toBe(false);
      } finally {
        await isolated.store.close();
      }
    });

    it("revokes: never served again, isRevoked true until the token would have expired", async () => {
      const local = new TestClock();
      const isolated = await make({ vault, clock: local, namespace: `revoke-${randomBytes(4).toString("hex")}` });
      try {
        const s = isolated.store;
        await s.store("tok-rev", meta(local, { id: "rev", subject: "svc-rev", expiresAt: new Date(local.now().getTime() + 10 * MINUTE) }));
        expect(await s.isRevoked("tok-rev")).toBe(false);
        expect(await s.revoke("tok-rev")).toBe(true);
        expect(await s.revoke("tok-rev")).toBe(false);
        expect(await s.get("tok-rev")).toBeNull();
        expect(await s.getById("rev")).toBeNull();
        expect(await s.list("svc-rev")).toEqual([]);
        expect(await s.isRevoked("tok-rev")).toBe(true);
        expect(await codeOf(s.store("tok-rev", meta(local, { id: "rev-again", subject: "svc-rev" })))).toBe("CONFLICT");
        await s.cleanup();
        expect(await s.isRevoked("tok-rev")).toBe(true);
        local.advance(11 * MINUTE);
        expect(await s.isRevoked("tok-rev")).toBe(false);
        expect(await s.revoke("tok-never-stored")).toBe(false);
        expect(await s.isRevoked("tok-never-stored")).toBe(false);
      } finally {
        await isolated.store.close();
      }
    });

    it("finds entries sealed under the previous key after a rotation, and revokes and deletes them exactly", async () => {
      if (!backend.reopen) return;
      const tag = randomBytes(4).toString("hex");
      const [token, subject] = [`tok-rot-${tag}`, `svc-rot-${tag}`];
      await store.store(token, meta(clock, { id: `rot-${tag}`, subject }));
      await store.store(`${token}-2`, meta(clock, { id: `rot-${tag}-2`, subject }));
      const rotated = await backend.reopen(new Vault(createKeyRing(randomBytes(32), [material])));
      try {
        expect((await rotated.get(token))?.id).toBe(`rot-${tag}`);
        expect((await rotated.getById(`rot-${tag}-2`))?.id).toBe(`rot-${tag}-2`);
        await rotated.store(`${token}-3`, meta(clock, { id: `rot-${tag}-3`, subject }));
        expect((await rotated.list(subject)).map((m) => m.id).sort()).toEqual([`rot-${tag}`, `rot-${tag}-2`, `rot-${tag}-3`]);
        expect(await rotated.revoke(`${token}-2`)).toBe(true);
        expect(await rotated.isRevoked(`${token}-2`)).toBe(true);
        expect(await rotated.get(`${token}-2`)).toBeNull();
        expect(await rotated.delete(token)).toBe(true);
        expect(await rotated.get(token)).toBeNull();
        expect((await rotated.list(subject)).map((m) => m.id)).toEqual([`rot-${tag}-3`]);
        // The store on the old key alone sees the same revocation and deletion.
        expect(await store.isRevoked(`${token}-2`)).toBe(true);
        expect(await store.get(token)).toBeNull();
      } finally {
        await rotated.close();
      }
    });

    it("deletes: true once, then false; the indexes go with it", async () => {
      await store.store("tok-del", meta(clock, { id: "del", subject: "svc-del" }));
      expect(await store.delete("tok-del")).toBe(true);
      expect(await store.delete("tok-del")).toBe(false);
      expect(await store.get("tok-del")).toBeNull();
      expect(await store.getById("del")).toBeNull();
      expect(await store.list("svc-del")).toEqual([]);
    });

    it("refuses bad input with INVALID_INPUT and writes nothing", async () => {
      const past = new Date(clock.now().getTime() - 1);
      const cases: [string, Promise<unknown>][] = [
        ["empty token", store.store("", meta(clock, { subject: "svc-bad" }))],
        ["expiry in the past", store.store("tok-bad-1", meta(clock, { subject: "svc-bad", expiresAt: past }))],
        ["expiry not a date", store.store("tok-bad-2", meta(clock, { subject: "svc-bad", expiresAt: "tomorrow" as unknown as Date }))],
        ["subject not a string", store.store("tok-bad-3", meta(clock, { subject: 42 as unknown as string }))],
        ["oversized metadata", store.store("tok-bad-4", meta(clock, { subject: "svc-bad", claims: { blob: "x".repeat(20_000) } }))],
        ["claims not an object", store.store("tok-bad-5", meta(clock, { subject: "svc-bad", claims: ["a"] as unknown as { [k: string]: string } }))],
        ["scopes not strings", store.store("tok-bad-6", meta(clock, { subject: "svc-bad", scopes: [1] as unknown as string[] }))],
        ["lone surrogate", store.store("tok-\ud800", meta(clock, { subject: "svc-bad" }))],
        ["get of a non-string", store.get(undefined as unknown as string)],
        ["list of a non-string", store.list({} as unknown as string)],
      ];
      for (const [label, promise] of cases) expect(`${label}: ${await codeOf(promise)}`).toBe(`${label}: INVALID_INPUT`);
      expect(await store.list("svc-bad")).toEqual([]);
      for (const token of ["tok-bad-1", "tok-bad-2", "tok-bad-4", "tok-bad-5", "tok-bad-6"]) expect(await store.get(token)).toBeNull();
    });

    it("holds nothing readable: no token, subject, id or claim in the backend's keys and values", async () => {
      if (!backend.dump) return;
      const canaries = { token: `CANARY-TOKEN-${randomBytes(8).toString("hex")}`, subject: `CANARY-SUBJECT-${randomBytes(8).toString("hex")}`, id: `CANARY-ID-${randomBytes(8).toString("hex")}`, claim: `CANARY-CLAIM-${randomBytes(8).toString("hex")}` };
      await store.store(canaries.token, meta(clock, { id: canaries.id, subject: canaries.subject, claims: { note: canaries.claim }, scopes: [canaries.claim] }));
      await store.store(`${canaries.token}-2`, meta(clock, { id: `${canaries.id}-2`, subject: canaries.subject }));
      await store.revoke(`${canaries.token}-2`);
      const dump = await backend.dump();
      expect(dump.length).toBeGreaterThan(0);
      expect(dump).toMatch(/tv1\.[A-Za-z0-9_-]{8}\./);
      for (const canary of Object.values(canaries)) {
        expect(dump).not.toContain(canary);
        expect(dump).not.toContain(Buffer.from(canary).toString("base64"));
        expect(dump).not.toContain(Buffer.from(canary).toString("hex"));
      }
    });

    it("bounds lock input the same on every backend: names up to 256 characters, ttls up to a day", async () => {
      const { lock } = backend;
      expect(LOCK_LIMITS).toEqual({ nameChars: 256, ownerChars: 256, maxTtlMs: 24 * 60 * MINUTE });
      const name = (label: string, length?: number) => {
        const base = `${label}-${randomBytes(4).toString("hex")}`;
        return length === undefined ? base : base.padEnd(length, "n");
      };
      // Thunks: each call is made and settled in turn, so a failure leaves no rejection unhandled.
      const accepted: [string, () => Promise<string | null>][] = [
        ["a 256-character name", () => lock.acquire(name("longest", LOCK_LIMITS.nameChars), 1_000)],
        ["a name with spaces and non-ASCII letters", () => lock.acquire(name("mint für Ω"), 1_000)],
        ["a 2-hour ttl", () => lock.acquire(name("two-hours"), 2 * 60 * MINUTE)],
        ["a day's ttl", () => lock.acquire(name("a-day"), LOCK_LIMITS.maxTtlMs)],
      ];
      for (const [label, acquire] of accepted) expect(`${label}: ${typeof (await acquire())}`).toBe(`${label}: string`);
      const refused: [string, () => Promise<unknown>][] = [
        ["a 257-character name", () => lock.acquire(name("too-long", LOCK_LIMITS.nameChars + 1), 1_000)],
        ["an empty name", () => lock.acquire("", 1_000)],
        ["a lone surrogate", () => lock.acquire("lock-\ud800", 1_000)],
        ["a ttl a millisecond over a day", () => lock.acquire(name("over-a-day"), LOCK_LIMITS.maxTtlMs + 1)],
        ["a zero ttl", () => lock.acquire(name("zero"), 0)],
        ["an empty owner", () => lock.release(name("owner"), "")],
        ["a 257-character owner", () => lock.release(name("owner"), "o".repeat(LOCK_LIMITS.ownerChars + 1))],
      ];
      for (const [label, call] of refused) expect(`${label}: ${await codeOf(call())}`).toBe(`${label}: INVALID_INPUT`);
    });
  });
}

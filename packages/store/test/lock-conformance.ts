// One suite for every StoreLock backend: take, contend, expire, release by the owner only.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock } from "../src/clock";
import { StorageError } from "../src/errors";
import type { StoreLock } from "../src/types";
import { TestClock } from "./conformance";

export interface LockUnderTest {
  lock: StoreLock;
  close(): Promise<void>;
}

export type MakeLock = (options: { clock: Clock; namespace: string }) => Promise<LockUnderTest>;

const unique = (label: string) => `${label}-${randomBytes(4).toString("hex")}`;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "resolved",
    (error: unknown) => (error instanceof StorageError ? `${error.op} ${error.code}` : `not a StorageError: ${String(error)}`),
  );
}

export function storeLockConformance(name: string, make: MakeLock): void {
  describe(`StoreLock conformance: ${name}`, () => {
    const clock = new TestClock();
    const namespace = unique("lock");
    let backend: LockUnderTest;
    let lock: StoreLock;
    beforeAll(async () => {
      backend = await make({ clock, namespace });
      lock = backend.lock;
    });
    afterAll(() => backend.close());

    it("takes a free name, refuses it while held, and names are independent", async () => {
      const [a, b] = [unique("mint"), unique("mint")];
      const owner = await lock.acquire(a, 60_000);
      expect(owner).toEqual(expect.any(String));
      expect(owner!.length).toBeGreaterThanOrEqual(16);
      expect(await lock.acquire(a, 60_000)).toBeNull();
      expect(await lock.acquire(b, 60_000)).toEqual(expect.any(String));
    });

    it("releases only for the owner (compare-and-delete)", async () => {
      const a = unique("release");
      const owner = (await lock.acquire(a, 60_000))!;
      await lock.release(a, "someone-else");
      expect(await lock.acquire(a, 60_000)).toBeNull();
      await lock.release(a, owner);
      const next = await lock.acquire(a, 60_000);
      expect(next).toEqual(expect.any(String));
      expect(next).not.toBe(owner);
      await lock.release(unique("never-held"), owner);
    });

    it("expires after its ttl by the store's clock; the late holder's release frees nothing", async () => {
      const a = unique("expiry");
      const first = (await lock.acquire(a, 1_000))!;
      clock.advance(999);
      expect(await lock.acquire(a, 1_000)).toBeNull();
      clock.advance(1);
      const second = (await lock.acquire(a, 1_000))!;
      expect(second).toEqual(expect.any(String));
      expect(second).not.toBe(first);
      await lock.release(a, first);
      expect(await lock.acquire(a, 1_000)).toBeNull();
      await lock.release(a, second);
      expect(await lock.acquire(a, 1_000)).toEqual(expect.any(String));
    });

    it("gives a contended name to exactly one of many concurrent callers", async () => {
      const a = unique("race");
      const owners = await Promise.all(Array.from({ length: 8 }, () => lock.acquire(a, 60_000)));
      expect(owners.filter((owner) => owner !== null)).toHaveLength(1);
    });

    it("keeps namespaces apart", async () => {
      const a = unique("shared-name");
      const other = await make({ clock, namespace: unique("lock-other") });
      try {
        expect(await lock.acquire(a, 60_000)).toEqual(expect.any(String));
        expect(await other.lock.acquire(a, 60_000)).toEqual(expect.any(String));
      } finally {
        await other.close();
      }
    });

    it("refuses bad input with INVALID_INPUT", async () => {
      const cases: [string, Promise<unknown>][] = [
        ["empty name", lock.acquire("", 1_000)],
        ["name not a string", lock.acquire(42 as unknown as string, 1_000)],
        ["lone surrogate", lock.acquire("lock-\ud800", 1_000)],
        ["zero ttl", lock.acquire("x", 0)],
        ["fractional ttl", lock.acquire("x", 1.5)],
        ["NaN ttl", lock.acquire("x", Number.NaN)],
        ["ttl beyond a day", lock.acquire("x", 25 * 60 * 60_000)],
        ["owner not a string", lock.release("x", 42 as unknown as string)],
      ];
      for (const [label, promise] of cases) expect(`${label}: ${await codeOf(promise)}`).toBe(`${label}: lock INVALID_INPUT`);
    });
  });
}

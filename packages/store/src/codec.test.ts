import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { blindIndexes, createKeyRing, Vault } from "@tokenvault/vault";
import { StoreCodec } from "./codec";
import { StorageError } from "./errors";

const HOUR = 3600_000;
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "returned";
  } catch (error) {
    return error instanceof StorageError ? error.code : String(error);
  }
};

describe("StoreCodec caches", () => {
  const vault = new Vault(createKeyRing(randomBytes(32), [randomBytes(32)]));
  const codec = new StoreCodec(vault, "codec-test");
  const now = new Date();
  const entry = (token: string, id = `id-${randomBytes(4).toString("hex")}`) => codec.encode(token, { id, subject: "subject-a", expiresAt: new Date(now.getTime() + HOUR), scopes: ["read"], claims: { tier: "gold" } }, now);

  it("gives each value the indexes the vault derives, under every key of the ring, on a hit as on a miss", () => {
    const token = `tok-${randomBytes(8).toString("hex")}`;
    const expected = blindIndexes(vault.keyRing, "codec-test/token", token);
    expect(codec.tokenKeys("get", token)).toEqual(expected);
    expect(codec.tokenKeys("get", token)).toEqual(expected);
    expect(expected).toHaveLength(2);
    // Purposes stay separate: the same text as a subject or an id has other indexes.
    expect(codec.subjectKeys("list", token)[0]).not.toBe(expected[0]);
    expect(codec.idKeys("getById", token)[0]).not.toBe(expected[0]);
  });

  it("keys its caches by digests, never by a token, and shows no opened claim when inspected", () => {
    const token = `secret-${randomBytes(16).toString("hex")}`;
    const claim = `CLAIM-${randomBytes(8).toString("hex")}`;
    const sealed = codec.encode(token, { id: "id-secret", subject: "subject-a", expiresAt: new Date(now.getTime() + HOUR), claims: { value: claim } }, now);
    codec.tokenKeys("get", token);
    codec.subjectKeys("list", `subject-${token}`);
    expect(codec.decode("get", sealed.tokenKey, sealed.sealed).claims).toEqual({ value: claim });
    // White-box: every key of every cache, and every cached index.
    const caches = Object.values(Reflect.get(codec, "indexCaches") as object).concat(Reflect.get(codec, "opened") as object);
    const held = caches.flatMap((cache) => ["newer", "older"].flatMap((half) => [...(Reflect.get(cache as object, half) as Map<string, unknown>)]));
    const text = JSON.stringify(held.map(([key, value]) => [key, Array.isArray(value) ? value : "opened"]));
    expect(text).toContain(sealed.tokenKey);
    expect(text).not.toContain(token);
    const shown = inspect(codec, { depth: Infinity, maxArrayLength: Infinity, maxStringLength: Infinity });
    expect(shown).not.toContain(token);
    expect(shown).not.toContain(claim);
  });

  it("still refuses an envelope it has opened when it is read for another token, or altered", () => {
    const a = entry(`tok-a-${randomBytes(8).toString("hex")}`, "id-a");
    const b = entry(`tok-b-${randomBytes(8).toString("hex")}`, "id-b");
    expect(codec.decode("get", a.tokenKey, a.sealed).id).toBe("id-a"); // now cached
    expect(codeOf(() => codec.decode("get", b.tokenKey, a.sealed))).toBe("CORRUPT");
    const middle = a.sealed.length - 10;
    const altered = a.sealed.slice(0, middle) + (a.sealed[middle] === "A" ? "B" : "A") + a.sealed.slice(middle + 1);
    expect(codeOf(() => codec.decode("get", a.tokenKey, altered))).toBe("CORRUPT");
    expect(codec.decode("get", a.tokenKey, a.sealed).id).toBe("id-a");
  });

  it("hands out a fresh object with fresh Dates on every read; scopes and claims are frozen", () => {
    const a = entry(`tok-${randomBytes(8).toString("hex")}`);
    const first = codec.decode("get", a.tokenKey, a.sealed);
    first.expiresAt.setTime(0);
    first.subject = "changed";
    expect(() => first.scopes!.push("admin")).toThrow(TypeError);
    expect(() => Object.assign(first.claims!, { tier: "platinum" })).toThrow(TypeError);
    const second = codec.decode("get", a.tokenKey, a.sealed);
    expect(second).not.toBe(first);
    expect(second.expiresAt.getTime()).toBe(now.getTime() + HOUR);
    expect(second).toMatchObject({ subject: "subject-a", scopes: ["read"], claims: { tier: "gold" } });
  });
});

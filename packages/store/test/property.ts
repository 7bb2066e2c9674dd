// Random sequences of operations and clock moves, run against a backend and against a plain
// model of the TokenStore rules: every answer must be the same.
import fc from "fast-check";
import { expect } from "vitest";
import type { Vault } from "@tokenvault/vault";
import { StorageError } from "../src/errors";
import type { TokenMetadata, TokenStore } from "../src/types";
import { TestClock, testVault } from "./conformance";

const MINUTE = 60_000;
const TOKENS = ["tok-a", "tok-b", "tok-c", "tok-d"];
const SUBJECTS = ["svc-1", "svc-2"];

type Command =
  | { op: "store"; token: string; subject: string; lifeMinutes: number }
  | { op: "get" | "delete" | "revoke" | "isRevoked"; token: string }
  | { op: "getById"; token: string }
  | { op: "list"; subject: string }
  | { op: "cleanup" }
  | { op: "advance"; minutes: number };

const token = fc.constantFrom(...TOKENS);
const command: fc.Arbitrary<Command> = fc.oneof(
  // Lifetimes of at least a minute: a backend that also expires by the real clock (Redis) must
  // not see an entry vanish while the test runs.
  fc.record({ op: fc.constant("store" as const), token, subject: fc.constantFrom(...SUBJECTS), lifeMinutes: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ op: fc.constantFrom("get" as const, "delete" as const, "revoke" as const, "isRevoked" as const), token }),
  fc.record({ op: fc.constant("getById" as const), token }),
  fc.record({ op: fc.constant("list" as const), subject: fc.constantFrom(...SUBJECTS) }),
  fc.constant({ op: "cleanup" as const }),
  fc.record({ op: fc.constant("advance" as const), minutes: fc.integer({ min: 0, max: 30 }) }),
);

/** The rules, as plainly as they can be written. */
class Model {
  private readonly entries = new Map<string, { subject: string; id: string; exp: number }>();
  private readonly revoked = new Map<string, number>();
  constructor(private readonly clock: TestClock) {}

  private live(token: string) {
    const now = this.clock.now().getTime();
    if ((this.revoked.get(token) ?? 0) > now) return null;
    const entry = this.entries.get(token);
    return entry && entry.exp > now ? entry : null;
  }

  apply(c: Command): unknown {
    const now = this.clock.now().getTime();
    switch (c.op) {
      case "store":
        if ((this.revoked.get(c.token) ?? 0) > now) return "CONFLICT";
        this.entries.set(c.token, { subject: c.subject, id: `id-${c.token}`, exp: now + c.lifeMinutes * MINUTE });
        return "ok";
      case "get":
      case "getById": {
        const e = this.live(c.token);
        return e ? { id: e.id, subject: e.subject, exp: e.exp } : null;
      }
      case "delete": {
        const e = this.entries.get(c.token);
        this.entries.delete(c.token);
        return !!e && e.exp > now;
      }
      case "revoke": {
        const e = this.live(c.token);
        if (!e) return false;
        this.entries.delete(c.token);
        this.revoked.set(c.token, e.exp);
        return true;
      }
      case "isRevoked":
        return (this.revoked.get(c.token) ?? 0) > now;
      case "list":
        return [...this.entries.values()]
          .filter((e) => e.subject === c.subject && e.exp > now)
          .sort((a, b) => a.exp - b.exp || (a.id < b.id ? -1 : 1))
          .map((e) => e.id);
      case "cleanup":
        return "ok";
      case "advance":
        this.clock.advance(c.minutes * MINUTE);
        return "ok";
    }
  }
}

const view = (m: TokenMetadata | null) => (m ? { id: m.id, subject: m.subject, exp: m.expiresAt.getTime() } : null);

async function run(store: TokenStore, clock: TestClock, c: Command): Promise<unknown> {
  switch (c.op) {
    case "store":
      try {
        await store.store(c.token, { id: `id-${c.token}`, subject: c.subject, expiresAt: new Date(clock.now().getTime() + c.lifeMinutes * MINUTE) });
        return "ok";
      } catch (error) {
        if (error instanceof StorageError) return error.code;
        throw error;
      }
    case "get":
      return view(await store.get(c.token));
    case "getById":
      return view(await store.getById(`id-${c.token}`));
    case "delete":
      return store.delete(c.token);
    case "revoke":
      return store.revoke(c.token);
    case "isRevoked":
      return store.isRevoked(c.token);
    case "list":
      return (await store.list(c.subject)).map((m) => m.id);
    case "cleanup":
      await store.cleanup();
      return "ok";
    case "advance":
      clock.advance(c.minutes * MINUTE);
      return "ok";
  }
}

/** Runs `numRuns` random command sequences, each on a fresh store from `make`. */
export async function agreesWithModel(make: (options: { vault: Vault; clock: TestClock; namespace: string }) => Promise<TokenStore>, numRuns = 40): Promise<void> {
  const vault = testVault();
  let run_ = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), async (commands) => {
      const storeClock = new TestClock();
      const modelClock = new TestClock();
      const store = await make({ vault, clock: storeClock, namespace: `property-${process.pid}-${run_++}` });
      const model = new Model(modelClock);
      try {
        for (const [step, c] of commands.entries()) {
          const expected = model.apply(c);
          const actual = await run(store, storeClock, c);
          expect({ step, command: c, answer: actual }).toEqual({ step, command: c, answer: expected });
        }
      } finally {
        await store.close();
      }
    }),
    { numRuns },
  );
}

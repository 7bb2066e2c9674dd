import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@tokenvault/db/testing";
import { readMigrations } from "@tokenvault/db/migrate";
import { startProductionServer, type RunningServer } from "./next-server";

/** Production refuses to start without these: tests pass throw-away values. */
const SECRETS = { TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"), SESSION_SECRET: randomBytes(32).toString("base64url") };
/** The operators' health endpoint answers this bearer (the home page tells strangers nothing). */
const HEALTH_TOKEN = randomBytes(24).toString("base64url");
const health = async (server: RunningServer) => {
  const response = await fetch(`${server.url}/api/health`, { headers: { authorization: `Bearer ${HEALTH_TOKEN}` } });
  return { status: response.status, body: (await response.json()) as unknown };
};

describe("home page on the production build", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("serves on the embedded database, migrated at start, when DATABASE_URL is unset", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "tokenvault-pglite-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const server: RunningServer = await startProductionServer({ ...SECRETS, HEALTH_TOKEN, DATABASE_URL: undefined, PGLITE_DATA_DIR: dataDir, TOKENVAULT_DEMO_USERS: "1", SESSION_COOKIE_SECURE: "0" });
    cleanups.push(() => server.stop());

    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(await response.text()).not.toContain("PGlite");
    expect(await health(server)).toEqual({ status: 200, body: { status: "ok", database: { kind: "embedded", migrationsApplied: readMigrations().length } } });
    // The database was created on disk in the folder the variable names.
    expect((await stat(join(dataDir, "PG_VERSION"))).isFile()).toBe(true);
    // Sessions and sign-in limits live in the embedded database too: a failed sign-in is counted,
    // a good one starts a session that answers, and sign-in needs nothing more than the two commands.
    const signIn = (password: string) =>
      fetch(`${server.url}/api/auth/sign-in`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ userId: "bob", password }).toString() });
    expect((await signIn("wrong")).status).toBe(401);
    const signedIn = await signIn("tokenvault");
    expect(signedIn.status).toBe(200);
    const cookie = signedIn.headers.getSetCookie()[0]!.split(";")[0]!;
    expect((await fetch(`${server.url}/api/trpc/session.list`, { headers: { cookie } })).status).toBe(200);
  });

  it("refuses to start in production without TOKEN_ENCRYPTION_KEY, naming it and nothing else", async () => {
    const database: TestDatabase = await createTestDatabase("web-nokey");
    cleanups.push(() => database.drop());
    const error = await startProductionServer({ SESSION_SECRET: SECRETS.SESSION_SECRET, TOKEN_ENCRYPTION_KEY: undefined, DATABASE_URL: database.url }).then(
      async (server) => {
        await server.stop();
        throw new Error("the server started without a key");
      },
      (e: unknown) => e as Error,
    );
    expect(error.message).toContain("TOKEN_ENCRYPTION_KEY is not set");
    expect(error.message).not.toContain(SECRETS.SESSION_SECRET);
  });

  it("serves on PostgreSQL through DATABASE_URL (migrated by `pnpm db:migrate`, not at start)", async () => {
    const database: TestDatabase = await createTestDatabase("web");
    cleanups.push(() => database.drop());
    const server = await startProductionServer({ ...SECRETS, HEALTH_TOKEN, DATABASE_URL: database.url });
    cleanups.push(() => server.stop());

    expect((await fetch(server.url)).status).toBe(200);
    expect(await health(server)).toEqual({ status: 200, body: { status: "ok", database: { kind: "postgresql", migrationsApplied: readMigrations().length } } });
  });
});

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresTokenStore } from "@tokenvault/store";
import { keyRingFromVariables, Vault } from "@tokenvault/vault";
import { SessionCookieSealer } from "~/server/auth/session-cookie";
import { rawRequest, signInOverHttp, startHttpApp, superjsonBody, type HttpApp } from "./http-app";

// Findings of the second adversarial review (issue 22) on the production build: where a signed-in
// browser can be sent (next=), who may change state (Origin: null, Sec-Fetch-Site, tRPC's form
// bodies), and a refresh whose answer failed after the session was rotated.
describe("return paths and cross-site requests on the production build", () => {
  let app: HttpApp;
  // The server's keys, so the test can rewrite a session's entry as time would.
  const secrets = { TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"), SESSION_SECRET: randomBytes(32).toString("base64url") };
  beforeAll(async () => {
    app = await startHttpApp("web-return-cross-site", secrets);
  });
  afterAll(() => app?.close());

  const origin = () => new URL(app.url).origin;
  const refresh = async (next: string, cookie?: string) =>
    rawRequest(app.url, { method: "GET", path: `/api/auth/refresh?next=${next}`, headers: { cookie: cookie ?? (await app.cookie("alice")) } });
  const signInForm = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${app.url}/api/auth/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html", ...headers },
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
    });
  const sessionRows = () => app.db.prisma.tokenStoreEntry.count({ where: { namespace: "auth", revoked: false } });

  /** The session's access token lapses, as after 15 idle minutes: its entry rewritten with the last renewal 16 minutes back. */
  async function lapseAccess(cookie: string): Promise<void> {
    const { sessionId } = new SessionCookieSealer(secrets.SESSION_SECRET).open(cookie.slice(cookie.indexOf("=") + 1), Date.now())!;
    const store = createPostgresTokenStore(app.db.prisma, { vault: new Vault(keyRingFromVariables({ TOKEN_ENCRYPTION_KEY: secrets.TOKEN_ENCRYPTION_KEY })), namespace: "auth" });
    const entry = (await store.get(`session:${sessionId}`))!;
    // The store's trigger notifies the server: its session read cache drops the entry.
    await store.store(`session:${sessionId}`, { ...entry, claims: { ...entry.claims, acc: Number(entry.claims?.acc) - 16 * 60_000 } });
  }

  // What a browser does with the Location it is given: WHATWG URL parsing, as Chromium's.
  const landsOn = (location: string) => new URL(location, app.url).origin;

  it("never sends a signed-in browser to another origin through next=, however it is spelt", async () => {
    const attempts = ["/%09/localhost:3899/landed-tab", "/%09%5Clocalhost:3899/x", "/%0A/evil.example", "/%5C/evil.example", "//evil.example", "/%5Cevil.example", "https://evil.example/", "/%E2%80%A8/evil.example"];
    for (const next of attempts) {
      const response = await refresh(next);
      if (!("status" in response)) throw response.error;
      const location = response.headers.location;
      // Refused as bad input; a redirect anywhere else would be a way out.
      expect([next, response.status, typeof location === "string" ? landsOn(location) : null]).toEqual([next, 400, null]);
      expect(JSON.parse(response.body)).toEqual({ error: { code: "BAD_REQUEST", message: "Invalid input." } });
    }
    // A real path comes back as the parsed URL serialises it.
    const good = await refresh(encodeURIComponent("/audit?action=REVOKE#top"));
    expect("status" in good && [good.status, good.headers.location]).toEqual([303, "/audit?action=REVOKE#top"]);
    const accented = await refresh(encodeURIComponent("/connections?q=é"));
    expect("status" in accented && [accented.status, accented.headers.location]).toEqual([303, "/connections?q=%C3%A9"]);
  });

  it("refuses a sign-in form whose next= leaves the origin, before a session starts", async () => {
    const before = await sessionRows();
    for (const next of ["/\t/localhost:3899/landed-tab", "/\t\\localhost:3899/x", "//evil.example", "/\u0000x", "https://evil.example"]) {
      const response = await signInForm({ userId: "carol", password: "tokenvault", next });
      expect([JSON.stringify(next), response.status, response.headers.get("location"), response.headers.getSetCookie()]).toEqual([JSON.stringify(next), 303, "/sign-in?error=BAD_REQUEST", []]);
    }
    expect(await sessionRows()).toBe(before);
    const good = await signInForm({ userId: "carol", password: "tokenvault", next: "/audit" });
    expect([good.status, good.headers.get("location")]).toEqual([303, "/audit"]);
  });

  it("refuses a sign-in posted with Origin: null or marked cross-site by the browser (login CSRF)", async () => {
    const before = await sessionRows();
    const attempts: Record<string, string>[] = [
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { origin: "null", "sec-fetch-site": "cross-site" },
      { origin: "https://evil.example" },
    ];
    for (const headers of attempts) {
      const response = await signInForm({ userId: "dave", password: "tokenvault" }, headers);
      expect([headers, response.status, response.headers.getSetCookie()]).toEqual([headers, 403, []]);
    }
    expect(await sessionRows()).toBe(before);
    // The app's own sign-in page posts same-origin: accepted.
    const own = await signInForm({ userId: "dave", password: "tokenvault" }, { origin: origin(), "sec-fetch-site": "same-origin" });
    expect([own.status, own.headers.get("location")]).toEqual([303, "/connections"]);
  });

  it("accepts tRPC mutations only as JSON and only from this origin", async () => {
    const cookie = await signInOverHttp(app.url, "bob");
    const endAll = (headers: Record<string, string>, body = "") => fetch(`${app.url}/api/trpc/session.endAll`, { method: "POST", headers: { cookie, ...headers }, body });
    const refused: [Record<string, string>, number][] = [
      [{ "content-type": "multipart/form-data; boundary=x" }, 415],
      [{ "content-type": "application/x-www-form-urlencoded" }, 415],
      [{ "content-type": "text/plain" }, 415],
      [{ "content-type": "application/octet-stream" }, 415],
      [{}, 415],
      [{ "content-type": "application/json", origin: "null" }, 403],
      [{ "content-type": "application/json", "sec-fetch-site": "same-site" }, 403],
      [{ "content-type": "application/json", origin: "http://sibling.localhost:3000" }, 403],
    ];
    for (const [headers, status] of refused) {
      const response = await endAll(headers);
      expect([headers, response.status]).toEqual([headers, status]);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "FORBIDDEN");
    }
    // Still signed in: none of them ended anything.
    const list = await fetch(`${app.url}/api/trpc/session.list`, { headers: { cookie } });
    expect(list.status).toBe(200);
    const own = await endAll({ "content-type": "application/json", origin: origin(), "sec-fetch-site": "same-origin" }, superjsonBody(undefined));
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual({ result: { data: { json: { ended: 1 } } } });
  });

  it("accepts its own pages' mutations behind a proxy that rewrites Host, and still refuses other origins", async () => {
    // A reverse proxy forwards Host: internal:8080 while the browser's Origin is the public one
    // (APP_URL, which this server was started with), or names it in X-Forwarded-Host.
    const endAll = async (headers: Record<string, string>) => {
      const cookie = await signInOverHttp(app.url, "bob");
      const body = Buffer.from(superjsonBody(undefined));
      const response = await rawRequest(app.url, {
        method: "POST",
        path: "/api/trpc/session.endAll",
        headers: { cookie, host: "internal:8080", "content-type": "application/json", "sec-fetch-site": "same-origin", "content-length": String(body.length), ...headers },
        body,
      });
      if (!("status" in response)) throw response.error;
      return [headers, response.status];
    };
    expect(await endAll({ origin: origin() })).toEqual([{ origin: origin() }, 200]);
    const forwarded = { origin: "https://vault.example.com", "x-forwarded-host": "vault.example.com" };
    expect(await endAll(forwarded)).toEqual([forwarded, 200]);
    const foreign = { origin: "https://evil.example", "x-forwarded-host": "vault.example.com" };
    expect(await endAll(foreign)).toEqual([foreign, 403]);
    const sibling = { origin: "https://sibling.vault.example.com", "x-forwarded-host": "vault.example.com" };
    expect(await endAll(sibling)).toEqual([sibling, 403]);
    // The sign-in form from the public origin, through the same proxy.
    const form = Buffer.from(new URLSearchParams({ userId: "dave", password: "tokenvault" }).toString());
    const signIn = await rawRequest(app.url, {
      method: "POST",
      path: "/api/auth/sign-in",
      headers: { host: "internal:8080", origin: origin(), "sec-fetch-site": "same-origin", "content-type": "application/x-www-form-urlencoded", accept: "text/html", "content-length": String(form.length) },
      body: form,
    });
    expect("status" in signIn && [signIn.status, signIn.headers.location]).toEqual([303, "/connections"]);
  });

  it("refuses a server action (sign-out) posted cross-site without an Origin", async () => {
    const cookie = await signInOverHttp(app.url, "dave");
    const response = await fetch(`${app.url}/connections`, {
      method: "POST",
      headers: { cookie, "sec-fetch-site": "cross-site", "content-type": "text/plain;charset=UTF-8", "next-action": "0".repeat(42) },
      body: "[]",
      redirect: "manual",
    });
    expect(response.status).toBe(403);
  });

  it("validates next= before rotating: a refused one leaves the session's cookie current", async () => {
    const cookie = await signInOverHttp(app.url, "alice");
    // The access token lapses (as after 15 idle minutes): the next refresh rotates the refresh token.
    await lapseAccess(cookie);
    for (const next of ["/%00x", "/%0B", "/%7F", "/%E2%80%A8"]) {
      const response = await refresh(next, cookie);
      expect("status" in response && [next, response.status, response.headers["set-cookie"] ?? null]).toEqual([next, 400, null]);
    }
    // The cookie is still the current one: this refresh rotates it and sets the new one.
    const rotated = await refresh("/connections", cookie);
    expect("status" in rotated && rotated.status).toBe(303);
    expect("status" in rotated && rotated.headers["set-cookie"]?.[0]).toMatch(/^tokenvault_session=[^;]+;/);
    const next = "status" in rotated ? rotated.headers["set-cookie"]![0]!.split(";")[0]! : "";
    expect((await fetch(`${app.url}/api/trpc/session.list`, { headers: { cookie: next } })).status).toBe(200);
    // No session was ended as a replay.
    expect(await app.db.prisma.auditLog.count({ where: { action: "SESSION_END", userId: "system" } })).toBe(0);
  });
});

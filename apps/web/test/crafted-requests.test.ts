import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryInput, rawRequest, startHttpApp, superjsonBody, type HttpApp } from "./http-app";

// Requests a client crafts by hand against the production build: each must get a clear answer
// of its own (a typed 400, a page), never a 500, a cut connection or a library's words.
describe("crafted requests on the production build", () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await startHttpApp("web-crafted");
  });
  afterAll(() => app?.close());

  const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  /** A tRPC GET of audit.list with a superjson input (dates travel as strings plus meta). */
  const auditList = (json: unknown, meta?: unknown) =>
    app.get(`/api/trpc/audit.list?input=${encodeURIComponent(superjsonBody(json, meta))}`, { userId: "alice" });
  const check = (body: string) => app.post("/api/trpc/connection.check", body, { userId: "alice" });

  it("shows the generic banner for notice codes that name Object.prototype members", async () => {
    for (const code of ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty"]) {
      const signIn = await app.get(`/sign-in?error=${code}`);
      expect([code, signIn.status]).toEqual([code, 200]);
      expect(await signIn.text()).toContain("The connection could not be completed. Try again.");
    }
    const connections = await app.get("/connections?error=toString", { userId: "alice" });
    expect(connections.status).toBe(200);
    expect(await connections.text()).toContain("The connection could not be completed. Try again.");
    // A known code still shows its own text.
    expect(await (await app.get("/sign-in?error=BAD_CREDENTIALS")).text()).toContain("Unknown user or wrong password.");
  });

  it("records no client-claimed address in the audit log when no proxy is trusted", async () => {
    for (const claimed of ["6.6.6.6", "fe80::1%I-was-never-here.example"]) {
      const response = await app.get("/api/audit/export", { userId: "alice", headers: { "x-forwarded-for": claimed } });
      expect(response.status).toBe(200);
      await response.text();
    }
    const rows = await app.db.prisma.auditLog.findMany({ where: { companyId: "acme", action: "EXPORT" } });
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.ipAddress)).toEqual([null, null]);
  });

  const nested = (depth: number) => `${'{"a":'.repeat(depth)}["undefined"]${"}".repeat(depth)}`;
  const badBodies: [string, string][] = [
    ["malformed JSON", '{"json":'],
    ["a bigint that is not one", superjsonBody({ provider: "xero" }, { values: { provider: ["bigint"] } })],
    ["a regexp that is not one", superjsonBody({ provider: "xero" }, { values: { provider: ["regexp"] } })],
    ["an unknown custom value", superjsonBody({ provider: "xero" }, { values: { provider: [["custom", "x"]] } })],
    ["an unknown class", superjsonBody({ provider: "xero" }, { values: { provider: [["class", "x"]] } })],
    ["a set of a non-iterable", superjsonBody({ provider: {} }, { values: { provider: ["set"] } })],
    ["a map of non-entries", superjsonBody({ provider: "xero" }, { values: { provider: ["map"] } })],
    ["a self-referencing transformation", superjsonBody({ provider: "xero" }, { values: { provider: ["bigint", "x"] } })],
    ["malformed referential equalities", superjsonBody({ provider: "xero" }, { referentialEqualities: [5] })],
    ["deeply nested meta", `{"json":{"provider":"xero"},"meta":{"values":${nested(5000)}}}`],
  ];

  it.each(badBodies)("answers %s with a typed 400 'Invalid input.' and no library text", async (_name, body) => {
    const response = await check(body);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { json: { message: string; data: { code: string; httpStatus: number } } } };
    expect(error.json).toMatchObject({ message: "Invalid input.", data: { code: "BAD_REQUEST", httpStatus: 400 } });
  });

  it("answers a forged cursor and out-of-range dates with a typed 400, field errors where there are fields", async () => {
    const now = new Date().toISOString();
    for (const cursor of [cursorOf({ t: now, id: "-".repeat(36) }), cursorOf({ t: "-271821-04-20T00:00:00.000Z", id: "00000000-0000-4000-8000-000000000000" })]) {
      const response = await auditList({ cursor });
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { json: { message: string; data: { fieldErrors: { path: string }[] } } } };
      expect([error.json.message, error.json.data.fieldErrors.map((f) => f.path)]).toEqual(["Invalid input.", ["cursor"]]);
    }
    for (const [field, value] of [
      ["from", "-271821-04-20T00:00:00.000Z"],
      ["to", "+275760-09-13T00:00:00.000Z"],
    ] as const) {
      const response = await auditList({ [field]: value }, { values: { [field]: ["Date"] } });
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { json: { message: string; data: { fieldErrors: { path: string }[] } } } };
      expect(error.json.message).toBe("Invalid input.");
      expect(error.json.data.fieldErrors.map((f) => f.path)).toEqual([field]);
    }
    // A real page and a date in range still work.
    expect((await auditList({ from: "2020-01-01T00:00:00.000Z" }, { values: { from: ["Date"] } })).status).toBe(200);
  });

  it("answers paths that are not valid percent-encoding with a typed 400", async () => {
    for (const path of ["/api/trpc/%FF", "/api/trpc/connection.list%FF", "/api/oauth/%FF/callback", "/api/audit/%E0%A4%A"]) {
      const response = await rawRequest(app.url, { method: "GET", path, headers: { cookie: await app.cookie("alice") } });
      expect("status" in response && [path, response.status, JSON.parse(response.body) as unknown]).toEqual([
        path,
        400,
        { error: { code: "BAD_REQUEST", message: "Invalid input." } },
      ]);
    }
  });

  it("validates every export filter before it streams: a 400, not a 200 cut short", async () => {
    for (const query of ["from=-271821-04-20T00:00:00.000Z", "from=1969-12-31T23:59:59.999Z", "from=1", "to=May%205"]) {
      const response = await rawRequest(app.url, { method: "GET", path: `/api/audit/export?${query}`, headers: { cookie: await app.cookie("alice") } });
      expect("status" in response && [query, response.status, (JSON.parse(response.body) as { error: { message: string } }).error.message]).toEqual([
        query,
        400,
        "Invalid input.",
      ]);
    }
    const csv = await app.get("/api/audit/export?from=2020-01-01T00:00:00.000Z", { userId: "alice" });
    expect([csv.status, (await csv.text()).split("\r\n")[0]]).toEqual([200, expect.stringMatching(/^timestamp,userId,action/)]);
  });

  it("still answers a well-formed bad input with its field errors", async () => {
    const response = await app.get(`/api/trpc/connection.status?${queryInput({ provider: "../../etc" })}`, { userId: "alice" });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { json: { message: string; data: { fieldErrors: { path: string }[] } } } };
    expect([error.json.message, error.json.data.fieldErrors.map((f) => f.path)]).toEqual(["Invalid input.", ["provider"]]);
  });

  it("refuses NUL and control characters in every input with a typed 400, before anything is written", async () => {
    const cookie = await app.cookie("alice");
    const exportsBefore = await app.db.prisma.auditLog.count({ where: { action: "EXPORT" } });
    for (const userId of ["\u0000", "a\u0000b", "\u001b[31m", "\u007f", "\u0085"]) {
      const list = await auditList({ userId });
      expect([JSON.stringify(userId), list.status]).toEqual([JSON.stringify(userId), 400]);
      const { error } = (await list.json()) as { error: { json: { message: string; data: { fieldErrors: { path: string }[] } } } };
      expect([error.json.message, error.json.data.fieldErrors.map((f) => f.path)]).toEqual(["Invalid input.", ["userId"]]);
    }
    for (const path of ["/api/audit/export?userId=%00", "/api/audit/export?userId=x%1Fy"]) {
      const response = await rawRequest(app.url, { method: "GET", path, headers: { cookie } });
      expect("status" in response && [path, response.status, (JSON.parse(response.body) as { error: { code: string } }).error.code]).toEqual([path, 400, "BAD_REQUEST"]);
    }
    expect(await app.db.prisma.auditLog.count({ where: { action: "EXPORT" } })).toBe(exportsBefore);
    for (const next of ["/%00x", "/%0B", "/%7F", "/%E2%80%A8", "/%C2%85"]) {
      const response = await rawRequest(app.url, { method: "GET", path: `/api/auth/refresh?next=${next}`, headers: { cookie } });
      expect("status" in response && [next, response.status, JSON.parse(response.body) as unknown]).toEqual([next, 400, { error: { code: "BAD_REQUEST", message: "Invalid input." } }]);
    }
    const form = await fetch(`${app.url}/api/auth/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
      body: "userId=bob&password=tokenvault&next=/%00x",
      redirect: "manual",
    });
    expect([form.status, form.headers.get("location"), form.headers.getSetCookie()]).toEqual([303, "/sign-in?error=BAD_REQUEST", []]);
    const member = await app.post("/api/trpc/session.endMember", superjsonBody({ userId: "bob\u0000" }), { userId: "alice" });
    expect(member.status).toBe(400);
    const webhook = await app.post("/api/trpc/webhook.create", superjsonBody({ url: "http://127.0.0.1:9/\u0000hook" }), { userId: "alice" });
    expect(webhook.status).toBe(400);
    expect(await app.db.prisma.webhookEndpoint.count()).toBe(0);
    // Nothing here was a 500: the server logged no unexpected error.
    expect(app.server.output()).not.toMatch(/unexpected error in a request|TypeError/);
  });
});

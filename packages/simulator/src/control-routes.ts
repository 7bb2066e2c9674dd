import { z } from "zod";
import type { RequestContext } from "./context";
import type { LocalControl } from "./control";
import { ENDPOINTS } from "./faults";
import { MAX_MINTED } from "./mint";
import { HttpError, json, parseJsonObject, readBody, type SimResponse } from "./http";
import type { Route } from "./router";

// The control API's HTTP surface (/__sim/*): request schemas and thin routes over LocalControl.

const provider = z.enum(["intuit", "xero", "oidc"]);
const limit = z.number().int().min(1).nullable().optional();
const providerLimits = z.object({ perMinute: limit, perDay: limit, concurrent: limit, appPerMinute: limit }).strict().optional();
const schemas = {
  advance: z.object({ ms: z.number().finite() }).strict(),
  set: z.object({ now: z.union([z.number().finite(), z.iso.datetime()]) }).strict(),
  client: z
    .object({
      provider,
      clientId: z.string().min(1).max(200).optional(),
      clientSecret: z.string().min(1).max(200).optional(),
      public: z.boolean().optional(),
      redirectUris: z.array(z.string().min(1)).optional(),
      name: z.string().min(1).max(200).optional(),
      accessTokenTtlSec: z.number().int().min(1).max(86_400).optional(),
      // Public JWKs only: a private member ("d") is refused rather than stored.
      tokenEndpointAuthMethod: z.enum(["client_secret_basic", "client_secret_post", "private_key_jwt"]).optional(),
      jwks: z.array(z.object({ kty: z.string(), kid: z.string().min(1).optional(), d: z.undefined().optional() }).loose()).max(10).optional(),
      wholeSecondExpiry: z.boolean().optional(),
    })
    .strict(),
  settings: z
    .object({
      strict: z.boolean().optional(),
      autoApprove: z.union([z.boolean(), z.object({ intuit: z.boolean().optional(), xero: z.boolean().optional(), oidc: z.boolean().optional() }).strict()]).optional(),
      xeroTenantsPerAuthorization: z.number().int().min(1).max(50).optional(),
      oidcIdTokenFault: z.enum(["wrong_nonce", "wrong_issuer", "wrong_audience", "bad_signature"]).nullable().optional(),
      intuitCompaniesPerAuthorization: z.number().int().min(1).max(50).optional(),
      xeroTenants: z
        .array(z.object({ tenantId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/), tenantName: z.string().min(1).max(100) }).strict())
        .min(1)
        .max(50)
        .nullable()
        .optional(),
      intuitRealmIds: z.array(z.string().regex(/^[A-Za-z0-9-]{1,64}$/)).min(1).max(50).nullable().optional(),
      withheldScopes: z.array(z.string().min(1).max(200)).max(50).optional(),
    })
    .strict(),
  fault: z
    .object({
      kind: z.enum(["latency", "error", "rate_limit", "drop"]),
      provider: provider.optional(),
      endpoint: z.enum([...ENDPOINTS, "any"]).optional(),
      grantId: z.string().min(1).optional(),
      clientId: z.string().min(1).optional(),
      refreshToken: z.string().min(1).optional(),
      latencyMs: z.number().int().min(0).max(600_000).optional(),
      status: z.number().int().min(500).max(599).optional(),
      retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
      problem: z.enum(["minute", "day", "concurrent", "appminute"]).optional(),
      count: z.number().int().min(1).optional(),
    })
    .strict()
    .refine((f) => f.kind !== "latency" || f.latencyMs !== undefined, { message: "a latency fault needs latencyMs" }),
  limits: z
    .object({
      enabled: z.boolean().optional(),
      minuteMs: z.number().int().min(1).max(86_400_000).optional(),
      dayMs: z.number().int().min(1).max(31 * 86_400_000).optional(),
      intuit: providerLimits,
      xero: providerLimits,
    })
    .strict(),
  usageFilter: z.object({ provider: z.enum(["intuit", "xero"]).optional(), clientId: z.string().optional(), tenantId: z.string().optional() }).strict(),
  revokeSelector: z.object({ provider: provider.optional(), clientId: z.string().optional(), realmId: z.string().optional(), tenantId: z.string().optional() }).strict(),
  mint: z
    .object({
      provider,
      count: z.number().int().min(1).max(MAX_MINTED),
      clientId: z.string().min(1).optional(),
      tenantsPerGrant: z.number().int().min(1).max(50).optional(),
      scope: z.array(z.string().min(1).max(200)).max(20).optional(),
      accessToken: z.boolean().optional(),
    })
    .strict(),
  grantFilter: z
    .object({
      provider: provider.optional(),
      clientId: z.string().optional(),
      realmId: z.string().optional(),
      tenantId: z.string().optional(),
      token: z.string().optional(),
      status: z.enum(["active", "revoked"]).optional(),
    })
    .strict(),
};

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
  throw new HttpError(400, "invalid_request", problems);
}

async function body<T>(ctx: RequestContext, schema: z.ZodType<T>): Promise<T> {
  return parse(schema, parseJsonObject(await readBody(ctx.req)));
}

/** The /__sim/* JSON API; each route is a thin wrapper over LocalControl. */
export function controlRoutes(control: LocalControl): Route[] {
  const ok = (value: unknown) => json(200, value ?? { ok: true });
  const route = (methods: string[], path: string, handle: (ctx: RequestContext) => Promise<SimResponse>): Route => ({ methods, path, handle });
  return [
    route(["GET"], "/__sim/health", () => Promise.resolve(ok({ ok: true }))),
    route(["GET"], "/__sim/clock", async () => ok(await control.clock())),
    route(["POST"], "/__sim/clock/advance", async (ctx) => ok(await control.advanceClock((await body(ctx, schemas.advance)).ms))),
    route(["POST"], "/__sim/clock/set", async (ctx) => {
      const { now } = await body(ctx, schemas.set);
      return ok(await control.setClock(typeof now === "number" ? now : Date.parse(now)));
    }),
    route(["GET"], "/__sim/clients", async () => ok(await control.listClients())),
    route(["POST"], "/__sim/clients", async (ctx) => json(201, await control.registerClient(await body(ctx, schemas.client)))),
    route(["GET"], "/__sim/settings", async () => ok(await control.getSettings())),
    route(["PATCH", "POST"], "/__sim/settings", async (ctx) => ok(await control.updateSettings(await body(ctx, schemas.settings)))),
    route(["GET"], "/__sim/faults", async () => ok(await control.listFaults())),
    route(["POST"], "/__sim/faults", async (ctx) => json(201, await control.addFault(await body(ctx, schemas.fault)))),
    route(["DELETE"], "/__sim/faults", async () => {
      await control.clearFaults();
      return ok(undefined);
    }),
    route(["DELETE"], "/__sim/faults/:id", async (ctx) => {
      if (!(await control.removeFault(ctx.params.id!))) throw new HttpError(404, "not_found", `no fault "${ctx.params.id}"`);
      return ok(undefined);
    }),
    route(["GET"], "/__sim/grants", async (ctx) => ok(await control.listGrants(parse(schemas.grantFilter, Object.fromEntries(ctx.url.searchParams))))),
    route(["POST"], "/__sim/grants/mint", async (ctx) => json(201, await control.mintGrants(await body(ctx, schemas.mint)))),
    route(["POST"], "/__sim/grants/revoke", async (ctx) => ok(await control.revokeGrants(await body(ctx, schemas.revokeSelector)))),
    route(["GET"], "/__sim/grants/:id", async (ctx) => {
      const grant = await control.getGrant(ctx.params.id!);
      if (!grant) throw new HttpError(404, "not_found", `no grant "${ctx.params.id}"`);
      return ok(grant);
    }),
    route(["POST"], "/__sim/grants/:id/revoke", async (ctx) => ok(await control.revokeGrant(ctx.params.id!))),
    route(["POST"], "/__sim/grants/:id/revoke-access-tokens", async (ctx) => ok(await control.revokeAccessTokens(ctx.params.id!))),
    route(["GET"], "/__sim/limits", async () => ok(await control.getLimits())),
    route(["PATCH", "POST"], "/__sim/limits", async (ctx) => ok(await control.updateLimits(await body(ctx, schemas.limits)))),
    route(["GET"], "/__sim/limits/usage", async (ctx) => ok(await control.apiUsage(parse(schemas.usageFilter, Object.fromEntries(ctx.url.searchParams))))),
    route(["GET"], "/__sim/stats", async () => ok(await control.stats())),
    route(["POST"], "/__sim/reset", async () => {
      await control.reset();
      return ok(undefined);
    }),
  ];
}

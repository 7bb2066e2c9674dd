import { createLocalJWKSet, jwtVerify } from "jose";
import type { ClientRecord } from "./clients";
import type { RequestContext } from "./context";
import { oauthError, type SimResponse } from "./http";
import { authenticateClient, registeredMethod, type ProviderPolicy } from "./tokens";

export const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/**
 * Client authentication for a token or revocation request: private_key_jwt (RFC 7523 §2.2,
 * OpenID Connect Core §9) when the request carries a client assertion, else the secret-based
 * methods of authenticateClient. The assertion must be signed by a key the client registered,
 * name the client as iss and sub, be addressed to this provider (its issuer or token endpoint),
 * be unexpired by the simulator's clock, and carry a jti never accepted before.
 */
export async function authenticateRequestClient(ctx: RequestContext, form: Record<string, string>, policy: ProviderPolicy, audiences: string[]): Promise<ClientRecord | SimResponse> {
  if (form.client_assertion === undefined && form.client_assertion_type === undefined) return authenticateClient(ctx, form, policy);
  const invalid = (description: string) => oauthError(401, "invalid_client", description);
  if (!policy.clientAuthMethods.includes("private_key_jwt")) return invalid("private_key_jwt is not supported");
  if (form.client_assertion_type !== JWT_BEARER_ASSERTION) return oauthError(400, "invalid_request", `client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
  if (!form.client_assertion) return oauthError(400, "invalid_request", "client_assertion is required");
  if (form.client_secret !== undefined || ctx.req.headers.authorization !== undefined) return oauthError(400, "invalid_request", "use only one client authentication method");

  // The client is named by the assertion; client_id in the form, when sent, must agree.
  let claimedId: unknown;
  try {
    claimedId = (JSON.parse(Buffer.from(form.client_assertion.split(".")[1] ?? "", "base64url").toString("utf8")) as { iss?: unknown }).iss;
  } catch {
    return invalid("client_assertion is not a JWT");
  }
  if (typeof claimedId !== "string") return invalid("client_assertion has no iss");
  if (form.client_id !== undefined && form.client_id !== claimedId) return oauthError(400, "invalid_request", "client_id does not match the client assertion");
  const client = ctx.sim.clients.get(policy.provider, claimedId);
  if (!client?.jwks?.length) return invalid("client authentication failed");
  if (!registeredMethod(client, "private_key_jwt")) return invalid("this client is registered for another authentication method");

  const now = ctx.sim.clock.now();
  let payload: { jti?: unknown; exp?: unknown; sub?: unknown };
  try {
    ({ payload } = await jwtVerify(form.client_assertion, createLocalJWKSet({ keys: client.jwks }), {
      issuer: client.clientId,
      subject: client.clientId,
      audience: audiences,
      currentDate: new Date(now),
      requiredClaims: ["exp", "jti"],
      algorithms: ["RS256", "PS256", "ES256", "EdDSA"],
    }));
  } catch {
    return invalid("client assertion is not valid (signature, iss, sub, aud or exp)");
  }
  const jti = String(payload.jti);
  const used = ctx.sim.clients.usedAssertionIds;
  for (const [id, expiresAt] of used) if (expiresAt <= now) used.delete(id);
  if (used.has(`${client.clientId}\u0000${jti}`)) return invalid("client assertion was already used (jti)");
  used.set(`${client.clientId}\u0000${jti}`, Number(payload.exp) * 1000);
  return client;
}

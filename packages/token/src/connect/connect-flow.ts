// The connect flow, consent URL to the stored consent: its steps share the state they check (the
// state row, the nonce, the code exchange). Checking the id_token, purging states, storing the
// consent (store-consent.ts: the grant, its connections, the grants they replace) and revoking
// replaced grants live beside it.
import { TokenError } from "@tokenvault/vault";
import { pkceChallenge, randomToken, sha256, STATE_TTL_MS } from "../oauth/pkce-state";
import { exchangeCode, IdTokenRejectedError, revokeGrant } from "../oauth/token-calls";
import { ProviderCallError, toTokenError, type TokenResponse } from "../oauth/token-client";
import type { ProviderAdapter } from "../providers/types";
import type { ServiceParts } from "../service-parts";
import type { AuthorizationRequest, CallbackResult, ProviderTenant, RequestContext } from "../types";
import { requireName } from "../validation";
import { checkIdToken, idTokenRefusal, type IdTokenRefusal } from "./id-token-check";
import { purgeExpiredOAuthStates } from "./oauth-state-purge";
import { requestedScopesFor } from "./requested-scopes";
import { storeConsent, targetsOf } from "./store-consent";
import type { RevocationQueue } from "./revocation-queue";

export type ConnectFlowDeps = Pick<ServiceParts, "prisma" | "connections" | "grants" | "secrets" | "audit" | "clock" | "logger" | "options" | "cache" | "webhooks">;

/**
 * Connecting a provider: the consent URL with a one-time state (stored only as a hash, bound
 * to user, company and provider; PKCE where the provider takes it), and the callback that
 * checks the state, refuses a replayed code, exchanges it and stores the token set.
 */
export class ConnectFlow {
  constructor(
    private readonly deps: ConnectFlowDeps,
    private readonly revocations: RevocationQueue,
  ) {}

  async authorizationUrl(adapter: ProviderAdapter, input: { companyId: string; userId: string; redirectUri: string; scopes?: readonly string[] }): Promise<AuthorizationRequest> {
    const companyId = requireName("companyId", input.companyId);
    const userId = requireName("userId", input.userId);
    const requestedScopes = requestedScopesFor(adapter, input.scopes);
    let redirect: URL;
    try {
      redirect = new URL(input.redirectUri);
    } catch {
      throw new TokenError("INVALID_INPUT", "redirectUri must be an absolute URL.");
    }
    if (redirect.protocol !== "https:" && redirect.protocol !== "http:") throw new TokenError("INVALID_INPUT", "redirectUri must be http(s).");

    const state = randomToken();
    const stateHash = sha256(state);
    const verifier = adapter.pkce ? randomToken() : null;
    // Where the provider signs id_tokens (QuickBooks, OpenID providers), the code is bound to this request by a nonce.
    const nonce = adapter.verifyIdToken ? randomToken() : adapter.expectsIdToken ? nonceOfState(state) : null;
    const now = this.deps.clock.now();
    const expiresAt = new Date(now.getTime() + STATE_TTL_MS);
    await this.deps.prisma.$transaction(async (tx) => {
      await tx.oAuthState.create({
        data: {
          stateHash,
          companyId,
          provider: adapter.id,
          userId,
          redirectUri: redirect.toString(),
          nonceHash: nonce ? sha256(nonce) : null,
          requestedScopes,
          codeVerifierSealed: verifier ? await this.deps.secrets.sealCounted(tx, verifier, { companyId, provider: adapter.id, kind: "PKCE_VERIFIER", externalId: stateHash }) : null,
          createdAt: now,
          expiresAt,
        },
      });
    });
    // Opportunistically, one small batch: connects cannot pile up states nobody deletes.
    await purgeExpiredOAuthStates(this.deps.prisma, now, { batch: 100, maxBatches: 1 }).catch(() => {
      this.deps.logger.warn("purging expired OAuth states failed");
    });
    const url = new URL(adapter.endpoints.authorization);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("client_id", adapter.client.clientId);
    url.searchParams.set("redirect_uri", redirect.toString());
    url.searchParams.set("scope", requestedScopes.join(" "));
    url.searchParams.set("state", state);
    if (nonce) url.searchParams.set("nonce", nonce);
    if (verifier) {
      url.searchParams.set("code_challenge", pkceChallenge(verifier));
      url.searchParams.set("code_challenge_method", "S256");
    }
    return { url: url.toString(), expiresAt };
  }

  /**
   * The provider's redirect back: checks the one-time state (present, known, unexpired, unused,
   * issued to this user, company and provider), refuses a code seen before, exchanges the code
   * and stores the token set, health and audit row in one transaction.
   */
  async callback(adapter: ProviderAdapter, input: { callbackUrl: string; companyId: string; context: RequestContext; tenantIds?: readonly string[] }): Promise<CallbackResult> {
    const companyId = requireName("companyId", input.companyId);
    const chosen = input.tenantIds === undefined ? null : [...new Set(input.tenantIds.map((id) => requireName("tenantId", id)))];
    if (chosen !== null && (!adapter.discoverTenants || chosen.length === 0)) throw new TokenError("INVALID_INPUT", "tenantIds names the organisations to connect: a non-empty list, for a provider with organisations.");
    const context = input.context;
    requireName("userId", context.userId);
    let params: URLSearchParams;
    try {
      params = new URL(input.callbackUrl).searchParams;
    } catch {
      throw new TokenError("INVALID_INPUT", "The callback URL is not valid.");
    }
    const state = params.get("state");
    if (!state) throw new TokenError("INVALID_STATE", "The sign-in response has no state. Start the connection again.");
    const { prisma } = this.deps;
    const stateHash = sha256(state);
    const pending = await prisma.oAuthState.findUnique({ where: { stateHash } });
    const now = this.deps.clock.now();
    if (!pending || pending.provider !== adapter.id || pending.companyId !== companyId || pending.userId !== context.userId) {
      throw new TokenError("INVALID_STATE", "This sign-in response does not belong to a connection you started. Start the connection again.");
    }
    if (pending.consumedAt) throw new TokenError("INVALID_STATE", "This sign-in response was already used. Start the connection again.");
    if (pending.expiresAt <= now) throw new TokenError("INVALID_STATE", "This sign-in response has expired. Start the connection again.");

    const denied = params.get("error");
    const code = params.get("code");
    const codeHash = code ? sha256(code) : null;
    // Consume the state first, atomically: a replay racing this one finds it used.
    try {
      const { count } = await prisma.oAuthState.updateMany({ where: { id: pending.id, consumedAt: null }, data: { consumedAt: now, codeHash } });
      if (count === 0) throw new TokenError("INVALID_STATE", "This sign-in response was already used. Start the connection again.");
    } catch (error) {
      if (error instanceof TokenError) throw error;
      // Unique violation on codeHash: this code was already exchanged under another state.
      throw new TokenError("INVALID_STATE", "This authorization code was already used. Start the connection again.");
    }

    if (denied || !code) {
      await this.deps.audit.writeNow({
        companyId,
        action: "CONNECT",
        outcome: "FAILURE",
        connectionType: adapter.id,
        apiEndpoint: adapter.endpoints.authorization,
        requestMethod: "GET",
        responseStatus: 400,
        errorMessage: denied === "access_denied" ? "Access was denied on the provider's consent page." : "The provider returned no authorization code.",
        details: { error: denied ? denied.slice(0, 64) : "missing_code" },
      }, context, this.deps.clock.now());
      throw new TokenError("AUTHORIZATION_DENIED", denied === "access_denied" ? `${adapter.displayName} access was not granted.` : `${adapter.displayName} did not complete the sign-in.`);
    }

    const externalIdFromRedirect = adapter.externalIdParam ? params.get(adapter.externalIdParam) : null;
    if (adapter.externalIdParam && !externalIdFromRedirect) throw new TokenError("INVALID_INPUT", `The ${adapter.displayName} response has no ${adapter.externalIdParam}.`);
    // It names the record its tokens are bound to: the same rules as every other id.
    if (externalIdFromRedirect !== null) requireName(adapter.externalIdParam ?? "externalId", externalIdFromRedirect);
    const verifier = pending.codeVerifierSealed
      ? this.deps.secrets.openSealed(pending.codeVerifierSealed, { companyId, provider: adapter.id, kind: "PKCE_VERIFIER", externalId: stateHash })
      : null;

    const started = Date.now();
    const sentAt = this.deps.clock.now();
    let response: TokenResponse;
    let tenants: ProviderTenant[] = [];
    try {
      // No retry: a code is single-use, a replay after a lost response would be refused anyway.
      // A library's exchange (tokenCalls) verifies the id_token and its nonce itself.
      const nonce = adapter.tokenCalls && pending.nonceHash ? nonceOfState(state) : null;
      if (nonce !== null && sha256(nonce) !== pending.nonceHash) throw new TokenError("INVALID_STATE", "This sign-in response does not belong to a connection you started. Start the connection again.");
      response = await exchangeCode(
        adapter,
        { code, state, redirectUri: pending.redirectUri, codeVerifier: verifier, nonce, callbackParams: params },
        this.deps.options.providerTimeoutMs,
      );
    } catch (error) {
      if (error instanceof IdTokenRejectedError) {
        const refusal = idTokenRefusal(adapter, error.reason, error.unavailable);
        throw await this.refuseGrant(adapter, refusal, error.grant ? (error.grant.refresh_token ?? error.grant.access_token) : null, { companyId, context, started });
      }
      if (!(error instanceof ProviderCallError)) throw error;
      throw await this.recordFailure(adapter, error, { companyId, context, started, endpoint: adapter.endpoints.token, method: "POST" });
    }
    if (pending.nonceHash && !adapter.tokenCalls) await this.requireNonce(adapter, response, { nonceHash: pending.nonceHash, externalId: externalIdFromRedirect, companyId, context, started });
    if (!response.refresh_token) {
      await this.revokeQuietly(adapter, response.access_token);
      throw new TokenError("PROVIDER_UNAVAILABLE", `${adapter.displayName} returned no refresh token; check the offline access scope.`);
    }
    // From here the provider holds a live grant: if it cannot be stored, it is revoked, not orphaned.
    let stored: { result: CallbackResult; pendingRevocations: string[] };
    try {
      if (adapter.discoverTenants) tenants = await adapter.discoverTenants(response.access_token, this.deps.options.providerTimeoutMs);
      // A state issued before states kept their scopes has none: it asked for the configured ones.
      const requestedScopes = pending.requestedScopes.length > 0 ? pending.requestedScopes : [...adapter.scopes];
      stored = await storeConsent(this.deps, this.revocations, adapter, { companyId, context, response, requestedScopes, tenants, targets: targetsOf(externalIdFromRedirect, tenants, chosen), started, sentAt, now });
    } catch (error) {
      await this.revokeQuietly(adapter, response.refresh_token);
      if (!(error instanceof ProviderCallError)) throw error;
      throw await this.recordFailure(adapter, error, { companyId, context, started, endpoint: adapter.endpoints.api, method: "GET" });
    }
    // The new grant is stored; the replaced ones are queued durably. A failure here leaves the row
    // for retryPendingRevocations() and must not undo the connect.
    for (const pending of stored.pendingRevocations) {
      await this.revocations.attemptNow(pending, context).catch((error: unknown) => {
        this.deps.logger.error("revoking the replaced grant failed; it stays queued", { provider: adapter.id, error: error instanceof Error ? error.name : "unknown" });
      });
    }
    return stored.result;
  }

  /** A CONNECT failure's audit row; returns the error to raise. */
  private async recordFailure(
    adapter: ProviderAdapter,
    error: ProviderCallError,
    at: { companyId: string; context: RequestContext; started: number; endpoint: string; method: string },
  ): Promise<TokenError> {
    const tokenError = toTokenError(error, adapter.displayName);
    await this.deps.audit.writeNow(
      {
        companyId: at.companyId,
        action: "CONNECT",
        outcome: "FAILURE",
        connectionType: adapter.id,
        apiEndpoint: at.endpoint,
        requestMethod: at.method,
        responseStatus: error.status ?? 0,
        responseTime: Date.now() - at.started,
        errorMessage: tokenError.message,
        details: { reason: error.kind },
      },
      at.context,
      this.deps.clock.now(),
    );
    return tokenError;
  }

  /** A refused id_token (see checkIdToken): the grant it came with is revoked, not stored, and audited. */
  private async requireNonce(
    adapter: ProviderAdapter,
    response: TokenResponse,
    at: { nonceHash: string; externalId: string | null; companyId: string; context: RequestContext; started: number },
  ): Promise<void> {
    const refusal = await checkIdToken(adapter, response, at, this.deps.options.providerTimeoutMs);
    if (refusal === null) return;
    throw await this.refuseGrant(adapter, refusal, response.refresh_token ?? response.access_token, at);
  }

  /** A grant whose id_token was refused: revoked (when one was issued), not stored, audited; returns the error to raise. */
  private async refuseGrant(adapter: ProviderAdapter, refusal: IdTokenRefusal, token: string | null, at: { companyId: string; context: RequestContext; started: number }): Promise<TokenError> {
    if (token) await this.revokeQuietly(adapter, token);
    await this.deps.audit.writeNow(
      {
        companyId: at.companyId,
        action: "CONNECT",
        outcome: "FAILURE",
        connectionType: adapter.id,
        apiEndpoint: refusal.endpoint,
        requestMethod: refusal.method,
        responseStatus: refusal.status,
        responseTime: Date.now() - at.started,
        errorMessage: refusal.message,
        details: { reason: refusal.reason },
      },
      at.context,
      this.deps.clock.now(),
    );
    return new TokenError(refusal.code, refusal.message);
  }

  /** Best effort: a grant that will not be stored should not stay live at the provider. */
  private async revokeQuietly(adapter: ProviderAdapter, token: string): Promise<void> {
    await revokeGrant(adapter, token, this.deps.options.providerTimeoutMs).catch(() => undefined);
  }
}

/**
 * The nonce of an OpenID provider's consent request, derived from its state: the state row keeps
 * only hashes, and the redirect brings the state back, so the exact nonce can be given to
 * openid-client to check. It is as secret as the state, which is what binds the request.
 */
function nonceOfState(state: string): string {
  return sha256(`openid-nonce:${state}`);
}

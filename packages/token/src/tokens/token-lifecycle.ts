import type { TokenKind } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import { SYSTEM } from "../options";
import type { ServiceParts } from "../service-parts";

export interface ExpiringToken {
  id: string;
  companyId: string;
  provider: string;
  kind: TokenKind;
  externalId: string;
  expiresAt: Date;
}

export type TokenLifecycleDeps = Pick<ServiceParts, "grants" | "clock" | "cache">;

/** Expiry and invalidation of grant tokens, by vault secret id: for jobs and operators, never for values. */
export class TokenLifecycle {
  constructor(private readonly deps: TokenLifecycleDeps) {}

  /** Vault secrets whose expiry falls before now + `withinMinutes`. Metadata only, never values. */
  async findExpiring(withinMinutes: number, provider?: string): Promise<ExpiringToken[]> {
    if (!Number.isFinite(withinMinutes) || withinMinutes < 0) throw new TokenError("INVALID_INPUT", "withinMinutes must be a non-negative number.");
    const rows = await this.deps.grants.findExpiring(new Date(this.deps.clock.now().getTime() + withinMinutes * 60_000), provider);
    return rows.map((r) => ({ ...r, expiresAt: r.expiresAt! }));
  }

  /** Marks one vault secret unusable (e.g. the provider reported it compromised). */
  async markInvalid(id: string, reason: string): Promise<void> {
    if (typeof reason !== "string" || reason.trim() === "" || reason.length > 500) throw new TokenError("INVALID_INPUT", "reason must be 1-500 characters.");
    const { grants } = this.deps;
    const secret = await grants.findSecret(id);
    if (!secret) throw new TokenError("NOT_FOUND", "No such token.");
    const now = this.deps.clock.now();
    await grants.transaction(async (tx) => {
      await grants.markSecretInvalid(tx, secret, reason);
      await grants.recordOutcome(tx, {
        // A connection without its refresh token can only be reconnected.
        health: secret.kind === "REFRESH_TOKEN" && secret.grantId ? { status: "EXPIRED", errorMessage: `Marked invalid: ${reason}`, of: { grantId: secret.grantId } } : undefined,
        event: {
          companyId: secret.companyId,
          action: "REVOKE",
          outcome: "SUCCESS",
          connectionType: secret.provider,
          apiEndpoint: "tokenService.markTokenInvalid",
          requestMethod: "UPDATE",
          responseStatus: 200,
          details: { kind: secret.kind, reason },
        },
        context: SYSTEM,
        at: now,
      });
    });
    if (secret.grantId) this.deps.cache?.forget([secret.grantId]);
  }
}

import type { PrismaClient } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import type { AuditTrail } from "../audit/audit-trail";
import type { Clock } from "../clock";
import type { SecretStore } from "./secret-store";
import { requireName } from "../validation";

export type StaticSecretKind = "API_KEY" | "WEBHOOK_SECRET";

/** The service parts it uses, named here: secrets sit below the service that bundles its parts. */
export interface StaticSecretsDeps {
  prisma: PrismaClient;
  secrets: SecretStore;
  audit: AuditTrail;
  clock: Clock;
}

/** Checked at run time too: this path must never store or hand out an OAuth token to a JavaScript caller. */
function requireStaticKind(kind: unknown): StaticSecretKind {
  if (kind !== "API_KEY" && kind !== "WEBHOOK_SECRET") throw new TokenError("INVALID_INPUT", "kind must be API_KEY or WEBHOOK_SECRET.");
  return kind;
}

/** Static secrets (API keys, webhook secrets): sealed like tokens, never refreshed. */
export class StaticSecrets {
  constructor(private readonly deps: StaticSecretsDeps) {}

  /** Stores a secret through the vault, with its audit row in the same transaction. */
  async store(input: { companyId: string; provider: string; kind: StaticSecretKind; value: string; userId: string; externalId?: string }): Promise<void> {
    const location = {
      companyId: requireName("companyId", input.companyId),
      provider: requireName("provider", input.provider),
      kind: input.kind,
      externalId: input.externalId === undefined || input.externalId === "" ? "" : requireName("externalId", input.externalId),
    };
    requireStaticKind(input.kind);
    const userId = requireName("userId", input.userId);
    const now = this.deps.clock.now();
    await this.deps.prisma.$transaction(async (tx) => {
      await this.deps.secrets.write(tx, [{ ...location, value: input.value, lastRefreshedAt: now }]);
      await this.deps.audit.write(
        tx,
        {
          companyId: location.companyId,
          action: "SECRET_WRITE",
          outcome: "SUCCESS",
          connectionType: location.provider,
          apiEndpoint: "vault",
          requestMethod: "WRITE",
          responseStatus: 200,
          details: { kind: location.kind, externalId: location.externalId },
        },
        { userId },
        now,
      );
    });
  }

  /** The secret's value. NO_TOKEN when absent; DecryptionError (DECRYPTION_FAILED) when it cannot be opened. */
  async get(companyId: string, provider: string, kind: StaticSecretKind, externalId = ""): Promise<string> {
    requireName("companyId", companyId);
    requireName("provider", provider);
    requireStaticKind(kind);
    if (externalId !== "") requireName("externalId", externalId);
    const { prisma, secrets } = this.deps;
    const row = await secrets.find(prisma, { companyId, provider, kind, externalId });
    if (!row) throw new TokenError("NO_TOKEN", `No ${kind === "API_KEY" ? "API key" : "webhook secret"} is stored for ${provider}.`);
    const value = secrets.open(row);
    await secrets.touch(prisma, row.id, this.deps.clock.now());
    return value;
  }
}

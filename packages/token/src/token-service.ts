import type { HealthStatus, PrismaClient } from "@tokenvault/db";
import { systemClock, type Clock } from "./clock";
import { TokenError } from "./errors";
import { consoleLogger, type Logger } from "./logger";
import { SecretStore } from "./vault/secret-store";
import type { Vault } from "./vault/vault";

export interface TokenServiceDeps {
  /** Resolves the Prisma client; lazy so importing the service opens nothing. */
  prisma: () => Promise<PrismaClient>;
  /** Resolves the vault; throws (KeyConfigError) when no valid key is configured: fail closed. */
  vault: () => Vault;
  clock?: Clock;
  logger?: Logger;
}

export interface ConnectionHealthView {
  connectionType: string;
  status: HealthStatus;
  lastChecked: Date;
  errorMessage: string | null;
}

export type StaticSecretKind = "API_KEY" | "WEBHOOK_SECRET";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function requireName(field: string, value: unknown): string {
  if (typeof value !== "string" || !NAME.test(value)) {
    throw new TokenError("INVALID_INPUT", `${field} must be 1-128 letters, digits, '.', '_', ':' or '-'.`);
  }
  return value;
}

/**
 * The token service. It receives every dependency; `tokenService` in index.ts is only wiring.
 */
export class TokenService {
  private readonly prisma: () => Promise<PrismaClient>;
  private readonly secrets: SecretStore;
  readonly clock: Clock;
  readonly logger: Logger;

  constructor(deps: TokenServiceDeps) {
    this.prisma = deps.prisma;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? consoleLogger;
    this.secrets = new SecretStore(deps.vault, this.logger);
  }

  /** Health of every connection a company has, as last recorded. Never calls a provider. */
  async listConnectionHealth(companyId: string): Promise<ConnectionHealthView[]> {
    const prisma = await this.prisma();
    return prisma.connectionHealth.findMany({
      where: { companyId },
      orderBy: { connectionType: "asc" },
      select: { connectionType: true, status: true, lastChecked: true, errorMessage: true },
    });
  }

  /** Stores a static secret (API key, webhook secret) through the vault, with an audit row in the same transaction. */
  async storeSecret(input: {
    companyId: string;
    provider: string;
    kind: StaticSecretKind;
    value: string;
    userId: string;
    externalId?: string;
  }): Promise<void> {
    const location = {
      companyId: requireName("companyId", input.companyId),
      provider: requireName("provider", input.provider),
      kind: input.kind,
      externalId: input.externalId === undefined || input.externalId === "" ? "" : requireName("externalId", input.externalId),
    };
    if (input.kind !== "API_KEY" && input.kind !== "WEBHOOK_SECRET") {
      throw new TokenError("INVALID_INPUT", "kind must be API_KEY or WEBHOOK_SECRET.");
    }
    const userId = requireName("userId", input.userId);
    const prisma = await this.prisma();
    await prisma.$transaction(async (tx) => {
      await this.secrets.write(tx, [{ ...location, value: input.value, lastRefreshedAt: this.clock.now() }]);
      await tx.auditLog.create({
        data: {
          companyId: location.companyId,
          userId,
          action: "SECRET_WRITE",
          outcome: "SUCCESS",
          connectionType: location.provider,
          apiEndpoint: "vault",
          requestMethod: "WRITE",
          responseStatus: 200,
          timestamp: this.clock.now(),
          details: { kind: location.kind, externalId: location.externalId },
        },
      });
    });
  }

  /** Reads a static secret. NO_TOKEN when absent; DecryptionError (DECRYPTION_FAILED) when it cannot be opened. */
  async getSecret(companyId: string, provider: string, kind: StaticSecretKind, externalId = ""): Promise<string> {
    const prisma = await this.prisma();
    const row = await prisma.tokenSecret.findUnique({
      where: { companyId_provider_kind_externalId: { companyId, provider, kind, externalId } },
    });
    if (!row) throw new TokenError("NO_TOKEN", `No ${kind === "API_KEY" ? "API key" : "webhook secret"} is stored for ${provider}.`);
    const value = this.secrets.open(row);
    await prisma.tokenSecret.update({ where: { id: row.id }, data: { lastUsedAt: this.clock.now() } });
    return value;
  }
}

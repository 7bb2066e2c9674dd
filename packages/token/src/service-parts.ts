import type { PrismaClient } from "@tokenvault/db";
import type { AuditTrail } from "./audit/audit-trail";
import type { Clock } from "./clock";
import type { ConnectionStore } from "./connections/connection-store";
import type { GrantStore } from "./connections/grant-store";
import type { Logger } from "./logger";
import type { TokenServiceOptions } from "./options";
import type { TokenMetrics } from "./metrics/token-metrics";
import type { ProviderRegistry } from "./providers/registry";
import type { ConnectionEvents } from "./refresh/connection-events";
import type { SecretStore } from "./secrets/secret-store";
import type { TokenCache } from "./tokens/token-cache";
import type { WebhookDeliveries } from "./webhooks/webhook-deliveries";

/**
 * What every module of the service is built from: plain values, made once by TokenService's
 * constructor. The stores are the only writers of their tables (see each one's header).
 */
export interface ServiceParts {
  prisma: PrismaClient;
  providers: ProviderRegistry;
  /** Connections (what a grant reaches) and their health. */
  connections: ConnectionStore;
  /** Grants: token sets, their lease and fence. */
  grants: GrantStore;
  secrets: SecretStore;
  audit: AuditTrail;
  clock: Clock;
  logger: Logger;
  options: TokenServiceOptions;
  /** Prometheus metrics; null: none are recorded. */
  metrics: TokenMetrics | null;
  /** The process's LISTEN connection that wakes waiters; null: waiters poll. */
  events: ConnectionEvents | null;
  /** The webhook outbox: events the service itself raises (a disconnect) are recorded in their transaction. */
  webhooks: WebhookDeliveries;
  /** The warm path's token cache, kept consistent by `events`; null: off (option, or no listener). */
  cache: TokenCache | null;
}

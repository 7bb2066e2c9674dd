import type { PrismaClient } from "@tokenvault/db";
import type { Vault } from "@tokenvault/vault";
import { ApiKeys, CompanyConnections } from "./api-keys";
import { AuditTrail } from "./audit/audit-trail";
import { ConnectionCheck } from "./checks/connection-check";
import { systemClock, type Clock } from "./clock";
import { ConnectFlow } from "./connect/connect-flow";
import { ConnectionEditor } from "./connect/connection-editor";
import { RevocationQueue } from "./connect/revocation-queue";
import { secretOf } from "./connections/connection";
import { ConnectionStore } from "./connections/connection-store";
import { ConnectionUpkeepStore } from "./connections/connection-upkeep-store";
import { GrantStore } from "./connections/grant-store";
import { ConnectionImport } from "./import/import-connection";
import { failClosedMethods } from "./database-unavailable";
import { consoleLogger, type Logger } from "./logger";
import type { TokenMetrics } from "./metrics/token-metrics";
import { DEFAULT_OPTIONS, type TokenServiceOptions } from "./options";
import { createProviderClient, type ProviderCallsConfig, type ProviderClient } from "./provider-calls";
import type { TokenServicePaths } from "./provider-calls/call-tokens";
import type { ProviderRegistry } from "./providers/registry";
import { ConnectionEvents } from "./refresh/connection-events";
import { SecretStore } from "./secrets/secret-store";
import { StaticSecrets } from "./secrets/static-secrets";
import type { ServiceParts } from "./service-parts";
import { TokenCache } from "./tokens/token-cache";
import { TokenLifecycle } from "./tokens/token-lifecycle";
import { TokenReader } from "./tokens/token-reader";
import { ConnectionViews } from "./views/connection-views";
import { WebhookDeliveries } from "./webhooks/webhook-deliveries";
import { WebhookEndpoints } from "./webhooks/webhook-endpoints";

/** Active API keys a company may hold at once. */
const MAX_API_KEYS = 25;

export interface TokenServiceDeps {
  prisma: PrismaClient;
  /** A Vault exists only with a valid key ring: a service cannot be built keyless (fail closed). */
  vault: Vault;
  providers: ProviderRegistry;
  clock?: Clock;
  logger?: Logger;
  /** Where refreshes, waits, lease contention, provider errors and vault operations are counted. Default: none. */
  metrics?: TokenMetrics;
  /** Overrides of DEFAULT_OPTIONS. */
  options?: Partial<TokenServiceOptions>;
  /**
   * PostgreSQL URL of the same database: the service holds one LISTEN connection there, and a
   * caller waiting for another process's refresh is woken by its NOTIFY. Without it (the
   * embedded database), waiters poll.
   */
  listenDatabaseUrl?: string;
  /** tokenService.fetch: where the shared limits live (default: this database), call options, limit overrides. */
  providerCalls?: ProviderCallsConfig;
}

/**
 * Every module of the token service, built once from its plain dependencies. TokenService only
 * forwards to these; the parts exposed as properties fail closed on a database outage
 * (VAULT_UNAVAILABLE).
 */
export function wireService(deps: TokenServiceDeps, service: Pick<TokenServicePaths, "getValidToken">) {
  const logger = deps.logger ?? consoleLogger;
  const options: TokenServiceOptions = { ...DEFAULT_OPTIONS, ...deps.options };
  const metrics = deps.metrics ?? null;
  const clock = deps.clock ?? systemClock;
  const audit = new AuditTrail(deps.prisma, logger);
  const deliveries = new WebhookDeliveries({ prisma: deps.prisma, clock });
  const heartbeat = { heartbeatMs: options.listenerHeartbeatMs, heartbeatTimeoutMs: options.listenerHeartbeatTimeoutMs, metrics };
  const events = deps.listenDatabaseUrl ? new ConnectionEvents(deps.listenDatabaseUrl, logger, heartbeat) : null;
  // The cache only exists with a listener to keep it consistent, and serves only while it is up (proven alive).
  const cache = options.tokenCache && events ? new TokenCache(metrics, options.tokenCacheStallMs, () => events.up) : null;
  if (cache) events?.observe(cache);
  const connections = new ConnectionStore(deps.prisma);
  const parts: ServiceParts = {
    prisma: deps.prisma,
    providers: deps.providers,
    connections,
    grants: new GrantStore(deps.prisma, audit, connections),
    secrets: new SecretStore(deps.vault, logger, metrics),
    audit,
    clock,
    logger,
    metrics,
    options,
    events,
    webhooks: deliveries,
    cache,
  };
  void events?.start();

  const policy = { allowPrivateNetworks: options.allowPrivateWebhookTargets };
  const endpoints = new WebhookEndpoints({ prisma: deps.prisma, secrets: parts.secrets, audit, clock, policy, maxEndpoints: options.maxWebhookEndpoints });
  const tokens = new TokenReader(parts);
  const views = new ConnectionViews(parts);
  const revocations = new RevocationQueue(parts);
  const lifecycle = new TokenLifecycle(parts);
  const apiKeys = new ApiKeys({ prisma: deps.prisma, audit, clock, maxKeys: MAX_API_KEYS });
  const companyConnections = new CompanyConnections({
    connections,
    views,
    validToken: (connectionId, userId, context) => tokens.validTokenFor({ connectionId }, userId, { context }),
  });
  const calls: ProviderClient = createProviderClient(deps.providerCalls ?? {}, {
    prisma: deps.prisma,
    providers: deps.providers,
    metrics: deps.metrics?.providerCalls ?? null,
    service: {
      getValidToken: service.getValidToken,
      resolveConnection: async (selector) => (await connections.resolve(selector)).connection,
      invalidateGrant: async (connectionId, reason) => {
        const refresh = secretOf((await connections.resolve({ connectionId })).grant, "REFRESH_TOKEN");
        if (refresh) await lifecycle.markInvalid(refresh.id, reason);
      },
    },
  });

  return {
    options,
    parts,
    audit,
    tokens,
    views,
    revocations,
    lifecycle,
    calls,
    checks: new ConnectionCheck(parts, tokens),
    connectFlow: new ConnectFlow(parts, revocations),
    connectionImport: new ConnectionImport(parts, revocations),
    staticSecrets: new StaticSecrets(parts),
    editor: new ConnectionEditor(parts),
    webhooks: {
      endpoints: failClosedMethods(endpoints, ["create", "list", "setEnabled", "remove", "require", "target"]),
      deliveries: failClosedMethods(deliveries, ["record", "sendTest", "list", "unqueued", "markQueued", "get", "recordAttempt", "purgeFinished", "cancel"]),
    },
    upkeep: failClosedMethods(new ConnectionUpkeepStore(deps.prisma), ["listDue", "listByIds", "countFailureDay", "openIncident", "recover", "markHorizonWarning"]),
    apiKeys: { ...failClosedMethods(apiKeys, ["create", "list", "revoke", "authenticate"]), recordCall: (...args: Parameters<ApiKeys["recordCall"]>) => apiKeys.recordCall(...args) },
    companyConnections: failClosedMethods(companyConnections, ["list", "require", "token"]),
  };
}

export type ServiceWiring = ReturnType<typeof wireService>;

import { TokenError } from "@tokenvault/vault";
import type { Connection } from "@tokenvault/db";
import { metadataOf, secretOf, type GrantWithSecrets } from "../connections/connection";
import { connectionFilterSchema, matchesFilter, parseOrRefuse } from "../connections/connection-settings";
import type { ConnectionHealthRow, ConnectionSelector } from "../connections/connection-store";
import { RECONNECT_NOTICE_DAYS } from "../options";
import type { ProviderAdapter } from "../providers/types";
import { providerUnavailable, reauthorizationRequired } from "../refresh/freshness";
import type { ServiceParts } from "../service-parts";
import type { ConnectionGroup, ConnectionHealthView, ConnectionPageQuery, ConnectionUserMetadata, ConnectionView, ProviderInfo, TokenStatus } from "../types";
import { requireName } from "../validation";
import { connectionHistory, HISTORY_RANGES, type ConnectionHistoryDay, type HistoryRange } from "./connection-history";
import { pageQueryOf, readConnectionPage } from "./connection-page";
import { nextScheduledRefresh, refreshTokenIdleMs } from "./refresh-schedule";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How long before a grant's hard expiry people are asked to reconnect: the worker's first warning. */
const RECONNECT_NOTICE_MS = Math.max(...RECONNECT_NOTICE_DAYS) * 24 * 3600 * 1000;

export type ConnectionViewsDeps = Pick<ServiceParts, "providers" | "connections" | "grants" | "clock" | "options" | "prisma">;

/** What people see of connections: status, expiries, health. Reads the database only; never calls a provider or opens a secret. */
export class ConnectionViews {
  constructor(private readonly deps: ConnectionViewsDeps) {}

  listProviders(): ProviderInfo[] {
    return this.deps.providers.list().map((p) => ({ id: p.id, displayName: p.displayName, scopes: [...p.scopes], optionalScopes: [...(p.optionalScopes ?? [])] }));
  }

  /** The status of the connection the selector names; NO_TOKEN status when a company has none of the provider. */
  async status(selector: ConnectionSelector): Promise<TokenStatus> {
    if (!("connectionId" in selector)) {
      const adapter = this.deps.providers.get(selector.provider);
      const rows = await this.deps.connections.find({ ...selector, provider: adapter.id });
      if (rows.length === 0) return this.statusOf(adapter, null);
    }
    const { connection, grant } = await this.deps.connections.resolve(selector);
    return this.statusOf(this.deps.providers.get(connection.provider), grant);
  }

  /**
   * One view per connection, providers in their configured order and each provider's
   * connections oldest first, and one (not connected) view per provider that has none.
   */
  async list(companyId: string, filter?: unknown): Promise<ConnectionView[]> {
    requireName("companyId", companyId);
    const wanted = filter === undefined ? undefined : parseOrRefuse(connectionFilterSchema, filter);
    const rows = await this.deps.connections.listWithGrants(companyId);
    const all = rows.map((r) => r.connection);
    // Filtered here, not in SQL: whether pausing one lets its grant idle out depends on the grant's other connections, filtered or not.
    const filtered = wanted !== undefined && (wanted.tags?.length || Object.keys(wanted.metadata ?? {}).length);
    return this.deps.providers.list().flatMap((adapter) => {
      const own = rows.filter((r) => r.connection.provider === adapter.id && matchesFilter(r.connection, wanted));
      // A filtered list holds matching connections only (no "not connected" placeholder).
      if (own.length === 0 && !filtered) return [this.view(adapter, null, null, null, [])];
      return own.map((r) => this.view(adapter, r.connection, r.grant, r.health, all));
    });
  }

  /**
   * A page of each provider's connections (see ConnectionPageQuery): what the dashboard shows of a
   * company with hundreds or thousands of them. Reads only the page's connections, their grants,
   * the grants' other connections (whether a grant is paused) and their health, never the whole company's.
   */
  async page(companyId: string, query: ConnectionPageQuery): Promise<ConnectionGroup[]> {
    requireName("companyId", companyId);
    const { search, offsets, limit, ids: only } = pageQueryOf(query);
    const adapters = query.providers ? [...new Set(query.providers.map((id) => this.deps.providers.get(id).id))].map((id) => this.deps.providers.get(id)) : this.deps.providers.list();
    return Promise.all(
      adapters.map(async (adapter): Promise<ConnectionGroup> => {
        const offset = offsets[adapter.id] ?? 0;
        const { rows, count, total } = await readConnectionPage(this.deps.prisma, { companyId, provider: adapter.id, search, offset, limit, ids: only });
        const grantIds = [...new Set(rows.map((r) => r.grantId))];
        const ids = rows.map((r) => r.id);
        const [grants, siblings, health] = await Promise.all([
          grantIds.length ? this.deps.prisma.oAuthGrant.findMany({ where: { id: { in: grantIds } }, include: { secrets: true } }) : [],
          grantIds.length ? this.deps.prisma.connection.findMany({ where: { grantId: { in: grantIds } } }) : [],
          ids.length ? this.deps.prisma.connectionHealth.findMany({ where: { connectionId: { in: ids } }, select: { connectionId: true, connectionType: true, status: true, lastChecked: true, errorMessage: true } }) : [],
        ]);
        const connections =
          count === 0 && !only
            ? [this.view(adapter, null, null, null, [])]
            : rows.map((row) => this.view(adapter, row, grants.find((g) => g.id === row.grantId) ?? null, health.find((h) => h.connectionId === row.id) ?? null, siblings));
        return { provider: adapter.id, displayName: adapter.displayName, count, total, offset, limit, connections };
      }),
    );
  }

  /** `all`: connections sharing the row's grant (and maybe others): a grant is paused only when every one of them is. */
  private view(adapter: ProviderAdapter, row: Connection | null, connection: GrantWithSecrets | null, h: ConnectionHealthRow | null, all: Connection[]): ConnectionView {
    {
      const metadata = connection ? metadataOf(connection) : {};
      const hardExpiresAt = metadata.refreshTokenHardExpiresAt ? new Date(metadata.refreshTokenHardExpiresAt) : null;
      const horizonNear = hardExpiresAt !== null && hardExpiresAt.getTime() - this.deps.clock.now().getTime() <= RECONNECT_NOTICE_MS;
      return {
        provider: adapter.id,
        displayName: adapter.displayName,
        connected: connection !== null,
        connectionId: row?.id ?? null,
        name: row?.customName || row?.displayName || null,
        externalId: row?.externalId || null,
        tenants: metadata.tenants ?? [],
        connectedBy: row?.connectedBy ?? null,
        connectedAt: row?.createdAt ?? null,
        health: connection && h ? { status: h.status, lastChecked: h.lastChecked, errorMessage: h.errorMessage } : null,
        refreshTokenHardExpiresAt: hardExpiresAt,
        reconnectBefore: horizonNear ? hardExpiresAt : null,
        failureStreakDays: connection?.refreshFailureDays ?? 0,
        exhausted: !!connection?.exhaustedAt,
        nextRefreshAt: connection && !(row && this.paused(row, all)) ? this.nextRefresh(adapter, connection) : null,
        customName: row?.customName ?? null,
        tags: row?.tags ?? [],
        metadata: (row?.metadata ?? {}) as ConnectionUserMetadata,
        requestedScopes: row?.requestedScopes ?? [],
        grantedScopes: row?.grantedScopes ?? [],
        disabled: !!row?.disabledAt,
        disabledAt: row?.disabledAt ?? null,
        disabledBy: row?.disabledBy ?? null,
        idleExpiryIfPaused: row && connection && !all.some((o) => o.grantId === row.grantId && o.id !== row.id && !o.disabledAt) ? this.idleExpiry(adapter, connection) : null,
        ...this.statusOf(adapter, connection),
      };
    }
  }

  /**
   * Refreshes and checks per UTC day over the last `days` days, from the audit log: of a company's
   * connections of a provider, or of one connection (by id; another company's is NOT_FOUND).
   */
  async history(target: { companyId: string; provider: string } | { connectionId: string; companyId?: string }, days: HistoryRange): Promise<ConnectionHistoryDay[]> {
    if (!HISTORY_RANGES.includes(days)) throw new TokenError("INVALID_INPUT", `days must be one of ${HISTORY_RANGES.join(", ")}.`);
    if ("provider" in target) {
      const companyId = requireName("companyId", target.companyId);
      return connectionHistory(this.deps.prisma, companyId, this.deps.providers.get(target.provider).id, days, this.deps.clock.now());
    }
    if (typeof target.connectionId !== "string" || !UUID.test(target.connectionId)) throw new TokenError("INVALID_INPUT", "connectionId must be a connection's id (a UUID).");
    const { connection } = await this.deps.connections.resolve(target.companyId === undefined ? { connectionId: target.connectionId } : { connectionId: target.connectionId, companyId: requireName("companyId", target.companyId) });
    const grantConnections = (await this.deps.connections.listForGrant(connection.grantId)).map((c) => c.id);
    if (!grantConnections.includes(connection.id)) grantConnections.push(connection.id);
    return connectionHistory(this.deps.prisma, connection.companyId, { connectionId: connection.id, grantConnections }, days, this.deps.clock.now());
  }

  /** Health of every connection a company has, as last recorded. */
  health(companyId: string): Promise<(ConnectionHealthView & { connectionType: string; connectionId: string })[]> {
    return this.deps.connections.listHealth(companyId);
  }

  /** Every connection of the row's grant is paused (this one included): the worker leaves the grant alone. */
  private paused(row: Connection, all: Connection[]): boolean {
    return all.filter((o) => o.grantId === row.grantId).every((o) => o.disabledAt);
  }

  /** When the grant's refresh token idles out at the provider if nothing refreshes it; null: no usable one. */
  private idleExpiry(adapter: ProviderAdapter, connection: GrantWithSecrets): Date | null {
    const refresh = secretOf(connection, "REFRESH_TOKEN");
    if (!refresh || refresh.state !== "VALID") return null;
    if (refresh.expiresAt) return refresh.expiresAt;
    if (!refresh.lastRefreshedAt) return null;
    const providerIdleMs = adapter.refreshToken.idleTtlSec ? adapter.refreshToken.idleTtlSec * 1000 : null;
    return new Date(refresh.lastRefreshedAt.getTime() + refreshTokenIdleMs(refresh, providerIdleMs, this.deps.options.refreshSchedule));
  }

  /** As the worker's scan would decide it (see refresh-schedule.ts). */
  private nextRefresh(adapter: ProviderAdapter, connection: GrantWithSecrets): Date | null {
    const access = secretOf(connection, "ACCESS_TOKEN") ?? null;
    const refresh = secretOf(connection, "REFRESH_TOKEN") ?? null;
    const schedule = this.deps.options.refreshSchedule;
    const providerIdleMs = adapter.refreshToken.idleTtlSec ? adapter.refreshToken.idleTtlSec * 1000 : null;
    const idleLifetimeMs = refreshTokenIdleMs(refresh, providerIdleMs, schedule);
    return nextScheduledRefresh({ access, refresh, exhausted: !!connection.exhaustedAt, idleLifetimeMs }, schedule, this.deps.clock.now());
  }

  private statusOf(adapter: ProviderAdapter, connection: GrantWithSecrets | null): TokenStatus {
    if (!connection) {
      return { status: "NO_TOKEN", message: `${adapter.displayName} is not connected.`, accessTokenExpiresAt: null, refreshTokenExpiresAt: null, lastRefreshedAt: null };
    }
    const access = secretOf(connection, "ACCESS_TOKEN");
    const refresh = secretOf(connection, "REFRESH_TOKEN");
    const base = {
      accessTokenExpiresAt: access?.expiresAt ?? null,
      refreshTokenExpiresAt: refresh?.expiresAt ?? null,
      lastRefreshedAt: access?.lastRefreshedAt ?? null,
    };
    const now = this.deps.clock.now();
    if (!refresh || refresh.state !== "VALID" || (refresh.expiresAt && refresh.expiresAt <= now)) {
      return { status: "EXPIRED", message: reauthorizationRequired(adapter).message, ...base };
    }
    if (connection.cooldownUntil && connection.cooldownUntil > now) {
      return { status: "ERROR", message: refresh.lastError ?? providerUnavailable(adapter).message, ...base };
    }
    if (access?.expiresAt && access.expiresAt > now) return { status: "VALID", message: `Connected to ${adapter.displayName}.`, ...base };
    return { status: "VALID", message: `Connected to ${adapter.displayName}; the access token will be refreshed on next use.`, ...base };
  }
}

// Changes an admin makes to a connection: its name, tags and metadata, and pausing it. The rules
// are connections/connection-settings.ts; ConnectionStore stays the only writer of the row.
import type { Connection } from "@tokenvault/db";
import { connectionSettingsSchema, parseOrRefuse, type ConnectionSettingsView } from "../connections/connection-settings";
import type { ConnectionSelector } from "../connections/connection-store";
import type { ServiceParts } from "../service-parts";
import { TokenCache } from "../tokens/token-cache";
import type { ConnectionUserMetadata, RequestContext } from "../types";
import { connectionPayload } from "../webhooks/webhook-events";

const settingsView = (c: Connection): ConnectionSettingsView => ({
  connectionId: c.id,
  customName: c.customName,
  tags: c.tags,
  metadata: (c.metadata ?? {}) as ConnectionUserMetadata,
  disabledAt: c.disabledAt,
  disabledBy: c.disabledBy,
});

export type SettingsDeps = Pick<ServiceParts, "connections" | "grants" | "audit" | "clock" | "webhooks" | "cache">;

/**
 * Name, tags, metadata and pause of one connection. Each change is one transaction with its audit
 * row (UPDATE, DISABLE, ENABLE); a pause or resume also records its webhook event there, so the
 * change and its notice commit together. Pausing twice changes nothing the second time (no row,
 * no event). Nothing is revoked: resuming serves the same grant again.
 */
export class ConnectionEditor {
  constructor(private readonly deps: SettingsDeps) {}

  async update(selector: ConnectionSelector, input: unknown, context: RequestContext): Promise<ConnectionSettingsView> {
    const settings = parseOrRefuse(connectionSettingsSchema, input);
    const { connection } = await this.deps.connections.resolve(selector);
    const fields = Object.keys(settings).sort();
    if (fields.length === 0) return settingsView(connection);
    const now = this.deps.clock.now();
    const updated = await this.deps.grants.transaction(async (tx) => {
      const row = await this.deps.connections.updateSettings(tx, connection.id, settings);
      await this.deps.audit.write(
        tx,
        { ...this.auditBase(connection), action: "UPDATE", apiEndpoint: "tokenService.updateConnection", requestMethod: "PATCH", details: { fields: fields.join(","), tags: row.tags.length } },
        context,
        now,
      );
      return row;
    });
    return settingsView(updated);
  }

  /** Pauses (disabled: true) or resumes the connection. */
  async setDisabled(selector: ConnectionSelector, disabled: boolean, context: RequestContext): Promise<ConnectionSettingsView> {
    const { connection } = await this.deps.connections.resolve(selector);
    const now = this.deps.clock.now();
    const changed = await this.deps.grants.transaction(async (tx) => {
      const row = await this.deps.connections.setDisabled(tx, connection.id, disabled ? { at: now, by: context.userId } : null);
      if (!row) return null;
      await this.deps.audit.write(
        tx,
        { ...this.auditBase(connection), action: disabled ? "DISABLE" : "ENABLE", apiEndpoint: disabled ? "tokenService.disableConnection" : "tokenService.enableConnection", requestMethod: "POST" },
        context,
        now,
      );
      const event = connectionPayload(disabled ? "connection.disabled" : "connection.enabled", connection, now, { actor: context.userId });
      await this.deps.webhooks.record(connection.companyId, event, tx);
      return row;
    });
    // This process's cached token goes now; other processes hear it from the connection channel (the migration's trigger).
    this.deps.cache?.forget([connection.id, TokenCache.scopeId(connection.companyId, connection.provider)]);
    return settingsView(changed ?? connection);
  }

  private auditBase(connection: Connection) {
    return { companyId: connection.companyId, outcome: "SUCCESS", connectionType: connection.provider, connectionId: connection.id, responseStatus: 200 } as const;
  }
}

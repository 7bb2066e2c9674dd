// Importing tokens issued elsewhere: a record is checked, found if imported before (no provider
// call), else verified at the provider (verify-import.ts) and stored exactly as a consent is
// (store-consent.ts: the grant, its connections, IMPORT audit row, connection.created webhooks).
import { Prisma } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import { storeConsent, targetsOf } from "../connect/store-consent";
import type { RevocationQueue } from "../connect/revocation-queue";
import { ProviderCallError } from "../oauth/token-client";
import type { ProviderAdapter } from "../providers/types";
import type { ServiceParts } from "../service-parts";
import type { CallbackResult, ProviderTenant, RequestContext } from "../types";
import { requireName } from "../validation";
import { parseImportRecord, type ImportRecord } from "./import-record";
import { CallCounter, refusalOf, verifyAtProvider, type Verified } from "./verify-import";

export type ImportDeps = Pick<ServiceParts, "providers" | "connections" | "grants" | "secrets" | "audit" | "cache" | "webhooks" | "clock" | "logger" | "options">;

/** What an import did: `imported`, or `already present` (the same record was imported before: nothing changed, no provider call). */
export interface ImportResult extends CallbackResult {
  outcome: "imported" | "already present";
  /** HTTP requests made to the provider for this record (retries included). */
  providerCalls: number;
  /** How the record was verified; null when already present. */
  verifiedBy: "identity call" | "refresh" | null;
}

/** An access token expiring sooner than this is not taken as live: the refresh token is verified instead. */
const LIVE_MARGIN_MS = 60_000;
/** Separates this use of the blind index from every other (SecretStore.fingerprints). */
const FINGERPRINT_PURPOSE = "import-refresh-token";

export class ConnectionImport {
  /** One record at a time per fingerprint in this process: a duplicate line waits, then finds the first one's grant. */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: ImportDeps,
    private readonly revocations: RevocationQueue,
  ) {}

  async run(input: unknown, context: RequestContext): Promise<ImportResult> {
    const record = parseImportRecord(input);
    requireName("userId", context.userId);
    const adapter = this.deps.providers.get(record.provider);
    const externalId = externalIdOf(adapter, record);
    // Keyed by provider too: one value is never two providers' token.
    const fingerprints = this.deps.secrets.fingerprints(FINGERPRINT_PURPOSE, `${adapter.id}\u0000${record.refreshToken}`);
    return this.oneAtATime(fingerprints[0]!, async () => {
      const present = await this.findPresent(adapter, record, fingerprints);
      if (present) return present;
      return this.verifyAndStore(adapter, record, externalId, fingerprints, context);
    });
  }

  private async oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.running.get(key) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const settled = mine.catch(() => undefined);
    this.running.set(key, settled);
    try {
      return await mine;
    } finally {
      if (this.running.get(key) === settled) this.running.delete(key);
    }
  }

  /** The grant this refresh token was imported into, as a result; INVALID_INPUT when that was another company's or provider's. */
  private async findPresent(adapter: ProviderAdapter, record: ImportRecord, fingerprints: string[]): Promise<ImportResult | null> {
    const grant = await this.deps.grants.findImported(fingerprints);
    if (!grant) return null;
    if (grant.companyId !== record.companyId || grant.provider !== adapter.id) {
      throw new TokenError("INVALID_INPUT", `This ${adapter.displayName} refresh token was already imported for another company; it was not imported again.`);
    }
    return {
      outcome: "already present",
      provider: adapter.id,
      companyId: grant.companyId,
      externalId: grant.connections[0]?.externalId || null,
      connections: grant.connections.map((c) => ({ id: c.id, externalId: c.externalId || null, displayName: c.displayName })),
      providerCalls: 0,
      verifiedBy: null,
    };
  }

  /**
   * Verifies and stores; a typed failure says how many provider calls it cost and whether a
   * refresh may have rotated the record's refresh token (`refreshMayHaveRotated`): the bulk
   * import retries a transient failure only when it did not (bulk-import.ts).
   */
  private async verifyAndStore(adapter: ProviderAdapter, record: ImportRecord, externalId: string, fingerprints: string[], context: RequestContext): Promise<ImportResult> {
    const calls = new CallCounter();
    try {
      return await this.verifyAndStoreCounted(adapter, record, externalId, fingerprints, context, calls);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      const details = { ...error.details, providerCalls: calls.count, refreshMayHaveRotated: calls.mayHaveRotated };
      throw new TokenError(error.code, error.message, { cause: error.cause, details });
    }
  }

  private async verifyAndStoreCounted(adapter: ProviderAdapter, record: ImportRecord, externalId: string, fingerprints: string[], context: RequestContext, calls: CallCounter): Promise<ImportResult> {
    const { clock, options } = this.deps;
    const started = Date.now();
    const live = record.accessToken !== undefined && record.expiresAt !== undefined && record.expiresAt.getTime() > clock.now().getTime() + LIVE_MARGIN_MS;
    let verified: Verified;
    try {
      verified = await verifyAtProvider(
        adapter,
        { accessToken: live ? record.accessToken! : null, accessTokenExpiresAt: live ? record.expiresAt! : null, refreshToken: record.refreshToken, externalId, scope: record.scopes?.join(" ") },
        options,
        () => clock.now(),
        calls,
      );
    } catch (error) {
      if (!(error instanceof ProviderCallError)) throw error;
      throw await this.refused(adapter, record, refusalOf(adapter, error, externalId), { status: error.status ?? 0, started, calls: calls.count, context });
    }
    let targets: ProviderTenant[];
    try {
      targets = adapter.discoverTenants ? targetsOf(null, verified.tenants, record.tenantIds ?? null) : [{ id: externalId, name: record.displayName ?? verified.name ?? "" }];
      if (adapter.discoverTenants && targets.length === 0) throw new TokenError("INVALID_INPUT", `${adapter.displayName} reports no organisation connected to these tokens.`);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      throw await this.refused(adapter, record, error, { status: 200, started, calls: calls.count, context });
    }
    const now = clock.now();
    const imported = {
      fingerprint: fingerprints[0]!,
      verifiedBy: { endpoint: verified.endpoint, method: verified.method },
      metadata: record.metadata ? { importedMetadata: record.metadata } : {},
      details: { verifiedBy: verified.via, providerCalls: calls.count },
    };
    let stored: Awaited<ReturnType<typeof storeConsent>>;
    try {
      stored = await storeConsent(this.deps, this.revocations, adapter, { companyId: record.companyId, context, response: verified.response, tenants: verified.tenants, targets, started, sentAt: verified.sentAt, now, imported });
    } catch (error) {
      // Another process stored the same record meanwhile (the fingerprint is unique): it is present.
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        const present = await this.findPresent(adapter, record, fingerprints);
        if (present) return { ...present, providerCalls: calls.count };
      }
      throw error;
    }
    for (const pending of stored.pendingRevocations) {
      await this.revocations.attemptNow(pending, context).catch(() => this.deps.logger.error("revoking the replaced grant failed; it stays queued", { provider: adapter.id }));
    }
    return { ...stored.result, outcome: "imported", providerCalls: calls.count, verifiedBy: verified.via };
  }

  /** A refused record: nothing stored, an IMPORT failure audited (no token in it); returns the error to raise, with the provider calls it cost. */
  private async refused(adapter: ProviderAdapter, record: ImportRecord, error: TokenError, at: { status: number; started: number; calls: number; context: RequestContext }): Promise<TokenError> {
    await this.deps.audit.writeNow(
      {
        companyId: record.companyId,
        action: "IMPORT",
        outcome: "FAILURE",
        connectionType: adapter.id,
        apiEndpoint: "tokenService.importConnection",
        requestMethod: "POST",
        responseStatus: at.status,
        responseTime: Date.now() - at.started,
        errorMessage: error.message,
        details: { code: error.code, providerCalls: at.calls, externalId: record.realmId ?? record.tenantIds?.join(",") ?? null },
      },
      at.context,
      this.deps.clock.now(),
    );
    return new TokenError(error.code, error.message, { details: { ...error.details, providerCalls: at.calls } });
  }
}

/** The external id a record names: the realm (QuickBooks, required), none yet for Xero (its organisations), "" otherwise. */
function externalIdOf(adapter: ProviderAdapter, record: ImportRecord): string {
  if (adapter.externalIdParam) {
    if (record.tenantIds) throw new TokenError("INVALID_INPUT", `${adapter.displayName} records name a ${adapter.externalIdParam}, not tenantIds.`);
    if (!record.realmId) throw new TokenError("INVALID_INPUT", `A ${adapter.displayName} record needs its ${adapter.externalIdParam}.`);
    return record.realmId;
  }
  if (record.realmId) throw new TokenError("INVALID_INPUT", `${adapter.displayName} records do not take a realmId${adapter.discoverTenants ? "; name organisations by tenantIds" : ""}.`);
  if (record.tenantIds && !adapter.discoverTenants) throw new TokenError("INVALID_INPUT", `${adapter.displayName} has no organisations: tenantIds does not apply.`);
  return "";
}

// The refresher's three layers (single flight, lease with heartbeat, re-read under the lease) in
// one class of about 300 lines, because they hand one another the connection and version they saw;
// the freshness rule, failure recording, the heartbeat and the retried write are in their own files.
import { randomToken, TokenError } from "@tokenvault/vault";
import { secretOf, type ConnectionWithSecrets } from "../connections/connection";
import { withRetry } from "../oauth/retry";
import { refreshGrant } from "../oauth/token-calls";
import { ProviderCallError, type TokenResponse } from "../oauth/token-client";
import type { ProviderAdapter } from "../providers/types";
import type { RefreshOutcome } from "../metrics/token-metrics";
import type { ServiceParts } from "../service-parts";
import type { RequestContext } from "../types";
import { LeaseHeartbeat } from "./lease-heartbeat";
import { recordFailure, StaleLeaseError } from "./record-failure";
import { SingleFlight } from "@tokenvault/kit";
import { storeRefreshResult } from "./store-result";
import { isFresh, needsReauthorization, providerUnavailable, reauthorizationRequired } from "./freshness";

export type RefresherDeps = Pick<ServiceParts, "connections" | "secrets" | "clock" | "logger" | "options" | "events"> & { metrics?: ServiceParts["metrics"] };

export interface RefreshRequest {
  /** Refresh when the access token expires within this margin. */
  marginMs: number;
  /** The provider refused the token: refresh even if it looks fresh (once, however many ask). */
  force: boolean;
  /** Who asked, from where; recorded on the audit row. */
  context: RequestContext;
  /** With force: refresh only while the stored access token is still this one (see GetValidTokenOptions). */
  rejectedAccessToken?: string;
  /** Inside the margin, wait for the refresh rather than serve the still-valid token (the background worker observes the outcome). */
  wait?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Refreshes a connection's tokens exactly once per expiry, however many callers in however many
 * processes ask. Three layers:
 *
 * 1. an in-process single flight per connection;
 * 2. a lease on the connection row, claimed by a conditional UPDATE that also reads the connection (ConnectionStore.claimAndRead)
 *    and kept short: the holder extends it while its provider call is in flight (LeaseHeartbeat),
 *    so a crashed holder is replaced within one lease; callers that do not get it wait for the
 *    holder's write and use it;
 * 3. under the lease, a re-read before the provider is called: someone may have refreshed since.
 *
 * The provider call happens outside any transaction. The new token set is written in one
 * statement (ConnectionStore.writeRefresh) that checks the version the lease was claimed at (the
 * fence), together with its audit row and health, so a holder whose lease lapsed cannot
 * overwrite a newer set, and returns the connection as written. A forced refresh costs three
 * database round trips: the caller's read, claim-and-read, and the write.
 */
export class Refresher {
  private readonly flights = new SingleFlight<ConnectionWithSecrets>();
  /** Identifies this process's lease claims. */
  private readonly owner = `${process.pid}:${randomToken(16)}`;
  /** Refreshes started for callers who did not wait for them (stale-while-revalidate). */
  private readonly background = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly deps: RefresherDeps) {}

  /**
   * `connection` as read when it is fresh for the margin. Inside the margin, while the access
   * token is still valid, also `connection` as read: one refresh starts in the background and
   * nobody waits for it (unless `request.wait`). Otherwise (expired, or forced after a provider
   * 401) the connection after a refresh.
   */
  async ensureFresh(adapter: ProviderAdapter, connection: ConnectionWithSecrets, request: RefreshRequest): Promise<ConnectionWithSecrets> {
    const now = this.deps.clock.now();
    if (!request.force && isFresh(connection, request.marginMs, now)) return connection;
    if (!request.force && !request.wait && isFresh(connection, 0, now)) {
      this.revalidate(adapter, connection, request);
      return connection;
    }
    return this.refresh(adapter, connection, request);
  }

  /**
   * Waits for the background refreshes for up to `timeoutMs`, then abandons them: a process
   * that exits mid-refresh leaves a lease that lapses (the fence keeps its late write out).
   */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.background.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const abandoned = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
    const settled = Promise.allSettled([...this.background]).then(() => false);
    if (await Promise.race([settled, abandoned])) this.deps.logger.warn("shutdown: background refreshes abandoned", { count: this.background.size });
    clearTimeout(timer);
  }

  /** Background refreshes still running (tests and shutdown). */
  get pendingRefreshes(): number {
    return this.background.size;
  }

  /** Resolves when every background refresh started so far has settled. */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** Forced and unforced refreshes fly separately: a forced caller must not take an unforced result for a new token. */
  private refresh(adapter: ProviderAdapter, connection: ConnectionWithSecrets, request: RefreshRequest): Promise<ConnectionWithSecrets> {
    const key = request.force ? `${connection.id}\u0000force` : connection.id;
    return this.flights.run(key, () => this.acrossProcesses(adapter, connection, connection.version, request));
  }

  /** Starts one background refresh unless one is running here; its failure is logged (and audited by the write), never thrown. */
  private revalidate(adapter: ProviderAdapter, connection: ConnectionWithSecrets, request: RefreshRequest): void {
    if (this.closed || this.flights.has(connection.id)) return;
    const running: Promise<void> = this.refresh(adapter, connection, request).then(
      () => undefined,
      (error: unknown) => {
        this.deps.logger.warn("background refresh failed", {
          provider: adapter.id,
          companyId: connection.companyId,
          code: error instanceof TokenError ? error.code : error instanceof Error ? error.name : "unknown",
        });
      },
    );
    this.background.add(running);
    void running.finally(() => this.background.delete(running));
  }

  private async acrossProcesses(adapter: ProviderAdapter, seen: ConnectionWithSecrets, observedVersion: number, request: RefreshRequest): Promise<ConnectionWithSecrets> {
    const { clock, options } = this.deps;
    const giveUpAt = clock.now().getTime() + options.refreshBudgetMs + options.leaseMs;
    let poll = options.waitPollMs;
    const events = this.deps.events;
    let staleVersion = observedVersion;
    // Set once this caller finds the lease held: it is then a waiter until it returns or throws.
    let waitStarted: number | null = null;
    const metrics = this.deps.metrics;
    const endWait = () => {
      if (waitStarted === null) return;
      metrics?.waiters.dec({ provider: adapter.id });
      metrics?.waitSeconds.observe({ provider: adapter.id }, (Date.now() - waitStarted) / 1000);
      waitStarted = null;
    };
    try {
      for (;;) {
        // Registered before the claim and the read, so a write committed in between still wakes us.
        const waiter = events?.up ? events.waiter(seen.id) : undefined;
        try {
          // Claim-and-read: one round trip claims the lease (if free) and reads the connection.
          const read = await this.deps.connections.claimAndRead(seen.companyId, seen.provider, this.owner, options.leaseMs, staleVersion);
          if (!read) throw new TokenError("NO_TOKEN", "This provider is not connected.");
          const current = read.connection;
          if (read.claimed) {
            endWait(); // a waiter that takes over the lease waits no longer
            return await this.underLease(adapter, current, observedVersion, request);
          }

          // Another process holds the lease: wait for its write, then use what it stored.
          if (waitStarted === null) {
            waitStarted = Date.now();
            metrics?.leaseContention.inc({ provider: adapter.id });
            metrics?.waiters.inc({ provider: adapter.id });
          }
          if (current.version !== staleVersion) {
            const outcome = this.settle(adapter, current, request.marginMs);
            if (outcome) return outcome;
            // Written, and still in need of a refresh (a token marked invalid, ...): claim that version next.
            staleVersion = current.version;
          }
          if (clock.now().getTime() > giveUpAt) {
            throw new TokenError("PROVIDER_UNAVAILABLE", `Refreshing the ${adapter.displayName} token is taking too long. Try again shortly.`);
          }
          if (waiter) {
            // Woken by the holder's write (NOTIFY), or when its lease ends (it may have died).
            await waiter.wait(this.untilLeaseEnds(read.leaseLeftMs));
          } else {
            // No listener (embedded database, or reconnecting): poll.
            await sleep(poll);
            poll = Math.min(poll * 2, 20);
          }
        } finally {
          waiter?.cancel();
        }
      }
    } finally {
      endWait();
    }
  }

  private observeRefresh(adapter: ProviderAdapter, outcome: RefreshOutcome, started: number): void {
    const metrics = this.deps.metrics;
    if (!metrics) return;
    metrics.refreshes.inc({ provider: adapter.id, outcome });
    metrics.refreshSeconds.observe({ provider: adapter.id, outcome }, (Date.now() - started) / 1000);
  }

  /**
   * How long a woken-by-NOTIFY waiter sleeps at most: until the holder's lease ends (then it may
   * claim it), as PostgreSQL's clock says: by this process's clock, running ahead, the lease would
   * look over and every waiter would poll every waitPollMs.
   */
  private untilLeaseEnds(leaseLeftMs: number | null): number {
    if (leaseLeftMs === null) return this.deps.options.waitPollMs;
    return Math.min(Math.max(leaseLeftMs + 5, this.deps.options.waitPollMs), this.deps.options.leaseMs);
  }

  /** True when the connection's stored access token is `token` (opened to compare; never logged). */
  private holdsAccessToken(connection: ConnectionWithSecrets, token: string): boolean {
    const access = secretOf(connection, "ACCESS_TOKEN");
    return !!access && this.deps.secrets.open(access) === token;
  }

  /** After someone else's write: the token to use, an error to raise, or null to keep waiting. */
  private settle(adapter: ProviderAdapter, current: ConnectionWithSecrets, marginMs: number): ConnectionWithSecrets | null {
    const now = this.deps.clock.now();
    if (isFresh(current, marginMs, now)) return current;
    if (needsReauthorization(current)) throw reauthorizationRequired(adapter);
    if (current.cooldownUntil && current.cooldownUntil > now) {
      if (isFresh(current, 0, now)) return current; // still valid, only inside the margin
      throw providerUnavailable(adapter);
    }
    return null;
  }

  /** `current` was read by the statement that claimed the lease: it is what the lease protects (version `current.version`). */
  private async underLease(adapter: ProviderAdapter, current: ConnectionWithSecrets, observedVersion: number, { marginMs, force, context, rejectedAccessToken }: RefreshRequest): Promise<ConnectionWithSecrets> {
    const { clock, logger, connections, options } = this.deps;
    const seen = current;
    const leaseVersion = current.version;
    const deadline = Date.now() + options.refreshBudgetMs;
    let leaseHeld = true;
    const heartbeat = new LeaseHeartbeat(connections, seen.id, this.owner, options, logger);
    try {
      // Read with the claim: another process may have refreshed since we looked. A forced refresh
      // is satisfied by one that happened after the caller looked. Unlike settle(), a forced
      // refresh does not wait out a cooldown.
      // With the refused token named, the test is exact: refresh only while it is still the stored one.
      const replaced = rejectedAccessToken !== undefined ? !this.holdsAccessToken(current, rejectedAccessToken) : current.version !== observedVersion;
      if (isFresh(current, marginMs, clock.now()) && (!force || replaced)) return current;
      if (needsReauthorization(current)) throw reauthorizationRequired(adapter);
      if (current.cooldownUntil && current.cooldownUntil > clock.now() && !force) {
        if (isFresh(current, 0, clock.now())) return current;
        throw providerUnavailable(adapter);
      }

      const refreshSecret = secretOf(current, "REFRESH_TOKEN")!;
      const refreshToken = this.deps.secrets.open(refreshSecret);
      const started = Date.now();
      let sentAt = clock.now();
      let response: TokenResponse;
      heartbeat.start();
      try {
        response = await withRetry(
          options.retry,
          deadline,
          options.providerTimeoutMs,
          () => {
            sentAt = clock.now(); // the attempt that succeeds: its token's lifetime starts no earlier
            return refreshGrant(adapter, refreshToken, options.providerTimeoutMs);
          },
          (error, delayMs) => logger.warn("refresh attempt failed; retrying", { provider: adapter.id, companyId: current.companyId, kind: error.kind, status: error.status, delayMs: Math.round(delayMs) }),
        );
      } catch (error) {
        await heartbeat.stop();
        if (!(error instanceof ProviderCallError)) throw error;
        this.observeRefresh(adapter, "failure", started);
        this.deps.metrics?.providerErrors.inc({ provider: adapter.id, kind: error.kind });
        const failure = await recordFailure(this.deps, { adapter, connection: current, owner: this.owner, leaseVersion, error, responseTime: Date.now() - started, force, context });
        leaseHeld = false; // the fenced write released it
        throw failure;
      }

      // The provider has rotated the grant: from here the result must be stored. It is kept in
      // memory and the fenced write retried while the database is away, for the rest of the
      // budget and at least one lease (while nobody else claims the lease, the fence still admits it).
      // The heartbeat beats on until the write settles, so no other process claims the lease meanwhile.
      const retry = { until: Math.max(deadline, Date.now() + options.leaseMs), logger, context: { provider: adapter.id, companyId: current.companyId } };
      let written: ConnectionWithSecrets | null;
      try {
        written = await storeRefreshResult(this.deps, { adapter, connection: current, owner: this.owner, response, refreshToken, force, context, started, sentAt }, retry);
      } finally {
        await heartbeat.stop();
      }
      this.observeRefresh(adapter, written ? "success" : "fenced", started);
      if (!written) throw new StaleLeaseError();
      leaseHeld = false; // the fenced write released it
      // Stored: the write returned the connection as stored, so it is not read back.
      return written;
    } catch (error) {
      if (error instanceof StaleLeaseError) {
        // Our lease expired (or the version moved under it: a reconnect, a token marked
        // invalid); the lease is released below if it is still ours. Their write stands; use it.
        // (Also reached when an earlier attempt of the write committed but its answer was lost.)
        logger.warn("refresh result not written: the fence refused it (lease lost, or already written)", { provider: adapter.id, companyId: seen.companyId });
        const current = await this.deps.connections.require(seen.companyId, seen.provider);
        const outcome = this.settle(adapter, current, 0);
        if (outcome) return outcome;
        throw new TokenError("PROVIDER_UNAVAILABLE", `Refreshing the ${adapter.displayName} token did not complete. Try again.`);
      }
      if (error instanceof TokenError) throw error;
      // The database failed (a Prisma error's message can quote the statement, ciphertexts
      // included): log its kind only, and report a typed error without it.
      logger.error("refresh could not read or store the connection", { provider: adapter.id, companyId: seen.companyId, error: error instanceof Error ? error.name : typeof error });
      throw new TokenError("VAULT_UNAVAILABLE", `Tokenvault could not store the ${adapter.displayName} tokens. Try again shortly.`);
    } finally {
      if (leaseHeld) await connections.releaseLease(seen.id, this.owner);
    }
  }
}

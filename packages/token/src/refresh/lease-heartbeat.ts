import type { GrantStore } from "../connections/grant-store";
import type { Logger } from "../logger";
import type { RefreshOptions } from "../options";

/**
 * Keeps a short refresh lease alive while its holder waits for the provider, then while it
 * stores the result (retried while the database is away): every
 * `leaseHeartbeatMs` the lease is pushed `leaseMs` past PostgreSQL's clock. A holder that dies
 * stops extending it, so another process takes over within one lease. The heartbeat never
 * decides who writes; the fence does (a holder whose lease lapsed anyway is refused there).
 */
export class LeaseHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();

  constructor(
    private readonly grants: Pick<GrantStore, "extendLease">,
    private readonly grantId: string,
    private readonly owner: string,
    private readonly options: Pick<RefreshOptions, "leaseMs" | "leaseHeartbeatMs">,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const every = this.options.leaseHeartbeatMs ?? Math.max(1, Math.floor(this.options.leaseMs / 3));
    this.timer = setInterval(() => {
      // One extension at a time; a slow database must not pile them up.
      this.beating = this.beating.then(() => this.beat());
    }, every);
    this.timer.unref();
  }

  /** Stops extending; waits for an extension in flight, so none is running once this returns. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
  }

  private async beat(): Promise<void> {
    if (this.timer === undefined) return;
    try {
      if (!(await this.grants.extendLease(this.grantId, this.owner, this.options.leaseMs))) {
        // Stopped meanwhile: our own fenced write released the lease; nothing was lost.
        if (this.timer === undefined) return;
        // Lost (lapsed and taken, or the version moved): stop; the fence will refuse our write.
        clearInterval(this.timer);
        this.timer = undefined;
        this.logger.warn("refresh lease lost while the refresh was in flight", { grantId: this.grantId });
      }
    } catch (error) {
      // The database is unreachable: the lease may lapse; the fence still decides.
      this.logger.warn("refresh lease could not be extended", { grantId: this.grantId, error: error instanceof Error ? error.name : typeof error });
    }
  }
}

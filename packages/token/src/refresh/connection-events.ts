import pg from "pg";
import type { Logger } from "../logger";

/** The channel the "Connection_notify" trigger sends to (see its migration). */
export const CONNECTION_CHANNEL = "tokenvault_connection";

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * Told of every notification and of the listener's state, in order (the token cache): `down` when
 * LISTEN stops (lost or closed), `up` once it is active again (nothing missed after that point).
 */
export interface ConnectionObserver {
  notified(connectionId: string): void;
  up(): void;
  down(): void;
}

/** A registered wait: `wait` resolves on the connection's next notification, or after the timeout. */
export interface Waiter {
  wait(timeoutMs: number): Promise<void>;
  cancel(): void;
}

/**
 * One LISTEN connection per process (a plain pg client: Prisma's pool cannot hold a session).
 * Every change of a connection's version, a lease given back and a removal arrive here (sent by
 * a trigger in the writing transaction) and wake this process's waiters for that connection at
 * once. While the listener is down (not yet connected, or reconnecting) `up` is false and
 * waiters fall back to polling; it reconnects with backoff until closed.
 */
export class ConnectionEvents {
  private client: pg.Client | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();
  private connected = false;
  private closed = false;
  private retryMs = RECONNECT_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  /** Clients already given up on (a lost client reports both "error" and "end"). */
  private readonly dead = new WeakSet<pg.Client>();
  private readonly observers: ConnectionObserver[] = [];

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
  ) {}

  /** True while LISTEN is active: a version change will wake waiters without polling. */
  get up(): boolean {
    return this.connected;
  }

  /** Adds an observer (before start): it hears every notification, and when LISTEN goes down and up. */
  observe(observer: ConnectionObserver): void {
    this.observers.push(observer);
  }

  /** Connects (once; later calls share it). Failures are logged and retried, never thrown. */
  start(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /**
   * Registers interest in `connectionId` now, before the caller re-reads it, so a notification
   * that arrives between the read and the wait is not missed.
   */
  waiter(connectionId: string): Waiter {
    let notified = false;
    let wake: (() => void) | undefined;
    const listener = () => {
      notified = true;
      wake?.();
    };
    const set = this.waiters.get(connectionId) ?? new Set();
    set.add(listener);
    this.waiters.set(connectionId, set);
    const cancel = () => {
      set.delete(listener);
      if (set.size === 0 && this.waiters.get(connectionId) === set) this.waiters.delete(connectionId);
    };
    return {
      cancel,
      wait: (timeoutMs) =>
        new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            cancel();
            resolve();
          };
          const timer = setTimeout(done, Math.max(0, timeoutMs));
          if (notified) done();
          else wake = done;
        }),
    };
  }

  /** Stops listening and reconnecting; waiters fall back to their timeouts. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    this.connected = false;
    const client = this.client;
    this.client = undefined;
    if (client) this.dead.add(client);
    await client?.end().catch(() => undefined);
    for (const observer of this.observers) observer.down();
    this.wakeAll();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: "tokenvault-listener" });
    client.on("notification", (message) => {
      if (message.channel !== CONNECTION_CHANNEL || !message.payload) return;
      const connectionId = message.payload.slice(0, message.payload.indexOf(":"));
      for (const observer of this.observers) observer.notified(connectionId);
      this.wake(connectionId);
    });
    // A dropped connection (server restart, pg_terminate_backend): poll, and reconnect.
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CONNECTION_CHANNEL}`);
      // Passive: the listener alone must not keep a process alive that has nothing else to do
      // (its shutdown hooks run on beforeExit). pg exposes the socket only on its connection.
      (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.closed || this.dead.has(client)) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.connected = true;
    this.retryMs = RECONNECT_MIN_MS;
    for (const observer of this.observers) observer.up();
    // Whatever changed while we were not listening: let every waiter look again.
    this.wakeAll();
  }

  private lost(client: pg.Client, error?: unknown): void {
    if (this.dead.has(client)) return;
    this.dead.add(client);
    const wasConnected = this.connected;
    this.client = undefined;
    this.connected = false;
    void client.end().catch(() => undefined);
    for (const observer of this.observers) observer.down();
    if (this.closed) return;
    if (wasConnected || error) {
      this.logger.warn("connection listener lost; waiters poll until it reconnects", { error: error instanceof Error ? error.name : undefined });
    }
    this.wakeAll();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.start(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }

  private wake(connectionId: string): void {
    for (const listener of [...(this.waiters.get(connectionId) ?? [])]) listener();
  }

  private wakeAll(): void {
    for (const set of [...this.waiters.values()]) for (const listener of [...set]) listener();
  }
}

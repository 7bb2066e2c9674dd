import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Logger } from "../logger";
import type { ListenerFailureReason, TokenMetrics } from "../metrics/token-metrics";

/** The channel the "Connection_notify" trigger sends to (see its migration). */
export const CONNECTION_CHANNEL = "tokenvault_connection";

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

export interface ConnectionEventsOptions {
  /** A NOTIFY to the listener's own channel this often; also the TCP keep-alive's first probe. Default 5 s. */
  heartbeatMs: number;
  /**
   * No echo for this long (and no connect within it): the listener is down, though nothing said
   * so (a network path that died silently), and is replaced. Default 10 s (two missed beats).
   */
  heartbeatTimeoutMs: number;
  metrics: TokenMetrics | null;
}

export const DEFAULT_EVENTS_OPTIONS: ConnectionEventsOptions = { heartbeatMs: 5_000, heartbeatTimeoutMs: 10_000, metrics: null };

/**
 * Told of every notification and of the listener's state, in order (the token cache): `down` when
 * LISTEN stops (lost or closed), `up` once it is active again (nothing missed after that point).
 */
export interface ConnectionObserver {
  /**
   * `id`: a grant's (its token set written, its lease given back, removed, re-encrypted), a
   * connection's (re-pointed to another grant, removed) or a company-and-provider scope's (see
   * TokenCache.scopeId). `version`: the version a grant's write left ('<id>:<version>'); null otherwise.
   */
  notified(id: string, version?: number | null): void;
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
 *
 * A connection whose network path dies silently reports nothing (no reset, no error): so the
 * socket has TCP keep-alive, and the listener a heartbeat. Every `heartbeatMs` it sends a NOTIFY
 * to a channel of its own; the echo proves that everything PostgreSQL sent before it has been
 * read. `up` holds only within `heartbeatTimeoutMs` of the last echo (or of LISTEN succeeding);
 * when that passes, the listener is given up as lost (observers hear `down`) and replaced.
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
  /** This listener's own heartbeat channel: other processes' listeners never hear its beats. */
  private readonly heartbeatChannel = `tokenvault_heartbeat_${randomBytes(8).toString("hex")}`;
  private readonly options: ConnectionEventsOptions;
  /** performance.now() of the last echo (or of LISTEN succeeding). */
  private aliveAt = 0;
  private beat = 0;
  private beatInFlight = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private deadTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    options: Partial<ConnectionEventsOptions> = {},
  ) {
    this.options = { ...DEFAULT_EVENTS_OPTIONS, ...options };
  }

  /**
   * True while LISTEN is active and proven alive: the last echo came within the bound, so a
   * version change will wake waiters without polling. Checked on every call, not only by timer:
   * a timer may run late on a busy process.
   */
  get up(): boolean {
    return this.connected && performance.now() - this.aliveAt <= this.options.heartbeatTimeoutMs;
  }

  /** performance.now() of the last heartbeat echo read (or of LISTEN succeeding); 0 before. */
  get lastEchoAt(): number {
    return this.aliveAt;
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
    this.stopHeartbeat();
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
    const { heartbeatMs, heartbeatTimeoutMs } = this.options;
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: "tokenvault-listener",
      keepAlive: true,
      keepAliveInitialDelayMillis: heartbeatMs,
      // A path that is silent from the start: neither the connect nor LISTEN may wait forever.
      connectionTimeoutMillis: heartbeatTimeoutMs,
      query_timeout: heartbeatTimeoutMs,
    });
    client.on("notification", (message) => {
      if (message.channel === this.heartbeatChannel) {
        if (this.client === client && message.payload === String(this.beat)) this.echoed(client);
        return;
      }
      if (message.channel !== CONNECTION_CHANNEL || !message.payload) return;
      const connectionId = message.payload.slice(0, message.payload.indexOf(":"));
      const what = message.payload.slice(connectionId.length + 1);
      const version = /^\d+$/.test(what) ? Number(what) : null;
      for (const observer of this.observers) observer.notified(connectionId, version);
      this.wake(connectionId);
    });
    // A dropped connection (server restart, pg_terminate_backend): poll, and reconnect.
    client.on("error", (error) => this.lost(client, "connection_lost", error));
    client.on("end", () => this.lost(client, "connection_lost"));
    try {
      await client.connect();
      await client.query(`LISTEN ${CONNECTION_CHANNEL}; LISTEN ${this.heartbeatChannel}`);
      // Passive: the listener alone must not keep a process alive that has nothing else to do
      // (its shutdown hooks run on beforeExit). pg exposes the socket only on its connection.
      streamOf(client)?.unref?.();
    } catch (error) {
      this.lost(client, "connect_failed", error);
      return;
    }
    if (this.closed || this.dead.has(client)) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.connected = true;
    this.retryMs = RECONNECT_MIN_MS;
    this.startHeartbeat(client);
    for (const observer of this.observers) observer.up();
    // Whatever changed while we were not listening: let every waiter look again.
    this.wakeAll();
  }

  /** LISTEN answered: alive now; beat every heartbeatMs, and give up on the client past the bound. */
  private startHeartbeat(client: pg.Client): void {
    this.beatInFlight = false;
    this.echoed(client);
    this.heartbeatTimer = setInterval(() => this.sendBeat(client), this.options.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private sendBeat(client: pg.Client): void {
    if (this.beatInFlight || this.client !== client) return; // the previous beat is still unanswered: the dead timer decides
    this.beatInFlight = true;
    this.beat++;
    client.query("SELECT pg_notify($1, $2)", [this.heartbeatChannel, String(this.beat)]).catch(() => undefined);
  }

  /** The echo of the current beat arrived: everything sent before it has been read. */
  private echoed(client: pg.Client): void {
    this.aliveAt = performance.now();
    this.beatInFlight = false;
    clearTimeout(this.deadTimer);
    this.deadTimer = setTimeout(() => this.lost(client, "heartbeat_timeout"), this.options.heartbeatTimeoutMs);
    this.deadTimer.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.deadTimer);
    this.heartbeatTimer = undefined;
    this.deadTimer = undefined;
  }

  private lost(client: pg.Client, reason: ListenerFailureReason, error?: unknown): void {
    if (this.dead.has(client)) return;
    this.dead.add(client);
    const wasConnected = this.connected;
    if (this.client === client || !this.client) {
      this.client = undefined;
      this.connected = false;
      this.stopHeartbeat();
    }
    void client.end().catch(() => undefined);
    // A silent path never answers the goodbye: drop the socket too.
    streamOf(client)?.destroy?.();
    for (const observer of this.observers) observer.down();
    if (this.closed) return;
    this.options.metrics?.listenerFailures.inc({ reason });
    if (wasConnected || error || reason === "heartbeat_timeout") {
      this.logger.warn("connection listener lost; waiters poll until it reconnects", { reason, error: error instanceof Error ? error.name : undefined });
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

/** pg keeps the socket on its connection, untyped. */
function streamOf(client: pg.Client): { unref?: () => void; destroy?: () => void } | undefined {
  return (client as unknown as { connection?: { stream?: { unref?: () => void; destroy?: () => void } } }).connection?.stream;
}

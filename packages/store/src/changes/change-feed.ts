/**
 * Told of every change notice of a store and of the feed's state, in order: `down` when the
 * subscription stops (lost, silent past the heartbeat bound, or closed), `up` once it is active
 * again (nothing missed after that point; what changed before must be read afresh).
 */
export interface ChangeObserver {
  /** An entry changed (stored, revoked, deleted): its blind index, never the token. */
  changed(tokenKey: string): void;
  up(): void;
  down(): void;
}

/** What a transport (PostgreSQL LISTEN, Redis SUBSCRIBE) calls back with. */
export interface FeedHandlers {
  changed(tokenKey: string): void;
  /** A heartbeat came back on the connection's own channel. */
  echo(payload: string): void;
  /** The connection failed or ended. */
  lost(error?: unknown): void;
}

/** One live subscription, as a transport opened it. */
export interface FeedConnection {
  /** Sends `payload` to the connection's own heartbeat channel; its echo proves everything sent before was read. */
  beat(payload: string): Promise<unknown>;
  close(): Promise<void>;
}

export type FeedTransport = (handlers: FeedHandlers) => Promise<FeedConnection>;

export interface ChangeFeedOptions {
  /** A heartbeat this often. Default 5 s. */
  heartbeatMs?: number;
  /** No echo for this long: the subscription is given up as lost (observers hear `down`) and replaced. Default 10 s. */
  heartbeatTimeoutMs?: number;
  /** Where a lost subscription is reported (never with a URL or an error message). Default console.warn. */
  log?: (message: string) => void;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * One subscription to a store's change notices per process, kept alive by a heartbeat, as the
 * token service's LISTEN connection is (packages/token refresh/connection-events.ts): `up` holds
 * only within `heartbeatTimeoutMs` of the last echo, so a path that died silently is noticed; a
 * lost subscription is replaced with backoff until closed. The transports: postgres-changes.ts
 * (LISTEN on "tokenvault_store", sent by a trigger in the writing transaction) and
 * redis-changes.ts (SUBSCRIBE on `<prefix>:changes`, published by the store's scripts).
 */
export class ChangeFeed {
  private readonly observers: ChangeObserver[] = [];
  private readonly heartbeatMs: number;
  private readonly timeoutMs: number;
  private readonly log: (message: string) => void;
  private current: FeedConnection | undefined;
  /** Bumped per connection attempt and loss: callbacks of an older connection are ignored. */
  private generation = 0;
  private live = false;
  private closed = false;
  private connecting: Promise<void> | undefined;
  private aliveAt = 0;
  private beat = 0;
  private beatInFlight = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private deadTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RECONNECT_MIN_MS;

  constructor(
    private readonly name: string,
    private readonly transport: FeedTransport,
    options: ChangeFeedOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.timeoutMs = options.heartbeatTimeoutMs ?? 10_000;
    this.log = options.log ?? ((message) => console.warn(message));
  }

  /** True while subscribed and proven alive (the last echo within the bound). Checked on every call, not only by timer. */
  get up(): boolean {
    return this.live && performance.now() - this.aliveAt <= this.timeoutMs;
  }

  /** Adds an observer: it hears every notice, and when the feed goes down and up. */
  observe(observer: ChangeObserver): void {
    this.observers.push(observer);
  }

  /** Subscribes (once; later calls share it). Failures are logged and retried, never thrown. */
  start(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    this.drop();
    for (const observer of this.observers) observer.down();
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    const mine = () => generation === this.generation && !this.closed;
    let connection: FeedConnection;
    try {
      connection = await this.transport({
        changed: (tokenKey) => {
          if (mine() && this.live) for (const observer of this.observers) observer.changed(tokenKey);
        },
        echo: (payload) => {
          if (mine() && this.live && payload === String(this.beat)) this.echoed();
        },
        lost: (error) => {
          if (mine()) this.lost(error);
        },
      });
    } catch (error) {
      if (mine()) this.lost(error);
      return;
    }
    if (!mine()) {
      await connection.close().catch(() => undefined);
      return;
    }
    this.current = connection;
    this.live = true;
    this.retryMs = RECONNECT_MIN_MS;
    this.beatInFlight = false;
    this.echoed();
    this.heartbeatTimer = setInterval(() => this.sendBeat(), this.heartbeatMs);
    this.heartbeatTimer.unref();
    for (const observer of this.observers) observer.up();
  }

  private sendBeat(): void {
    if (this.beatInFlight || !this.current) return; // the previous beat is unanswered: the dead timer decides
    this.beatInFlight = true;
    this.beat++;
    this.current.beat(String(this.beat)).catch(() => undefined);
  }

  private echoed(): void {
    this.aliveAt = performance.now();
    this.beatInFlight = false;
    clearTimeout(this.deadTimer);
    this.deadTimer = setTimeout(() => this.lost(new Error("heartbeat timeout")), this.timeoutMs);
    this.deadTimer.unref();
  }

  /** Stops the current connection (if any) and its timers; observers are told by the caller. */
  private drop(): void {
    this.generation++;
    this.live = false;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.deadTimer);
    const connection = this.current;
    this.current = undefined;
    void connection?.close().catch(() => undefined);
  }

  private lost(error?: unknown): void {
    const wasLive = this.live;
    this.drop();
    for (const observer of this.observers) observer.down();
    if (this.closed) return;
    if (wasLive) this.log(`${this.name}: change feed lost (${error instanceof Error ? error.name : "ended"}); caches are bypassed until it is back`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.start(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }
}

import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * What the proxy does with traffic:
 * - "pass": forwards both ways (after `delayMs`, when set);
 * - "refuse": resets every new connection at once (a server that is down);
 * - "blackhole": accepts connections and drops every byte both ways, on new and open
 *   connections alike (a server or network that stopped answering: only timeouts end a call).
 */
export type ProxyMode = "pass" | "refuse" | "blackhole";

export interface TcpProxyOptions {
  /** The server the proxy stands in front of (loopback in tests). */
  targetHost: string;
  targetPort: number;
  /** Added to every chunk forwarded, in both directions (order kept). */
  delayMs?: number;
}

interface Pair {
  client: Socket;
  upstream: Socket | null;
}

/**
 * A TCP proxy for fault tests, listening on 127.0.0.1 only: a test points a client at it
 * instead of the real server and then cuts, refuses, black-holes or delays the traffic.
 */
export class TcpProxy {
  private mode: ProxyMode = "pass";
  private delay: number;
  private readonly pairs = new Set<Pair>();
  private readonly lastDue = new WeakMap<Socket, number>();
  /** Connections accepted so far (refused ones included). */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: TcpProxyOptions,
  ) {
    this.delay = options.delayMs ?? 0;
  }

  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, options);
    server.on("connection", (socket) => proxy.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  /** A proxy in front of the server a postgres:// (or redis://) URL names. */
  static forUrl(url: string, delayMs?: number): Promise<TcpProxy> {
    const target = new URL(url);
    return TcpProxy.start({ targetHost: target.hostname, targetPort: Number(target.port || 5432), delayMs });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const rewritten = new URL(url);
    rewritten.hostname = "127.0.0.1";
    rewritten.port = String(this.port);
    return rewritten.toString();
  }

  /** Connections open through the proxy now. */
  get openConnections(): number {
    return this.pairs.size;
  }

  get currentMode(): ProxyMode {
    return this.mode;
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
  }

  setDelay(ms: number): void {
    this.delay = ms;
  }

  /** Resets every open connection (both sides); new ones are handled by the current mode. */
  cutAll(): void {
    for (const pair of this.pairs) this.drop(pair);
  }

  /** The server is down: open connections are reset and new ones refused. */
  down(): void {
    this.mode = "refuse";
    this.cutAll();
  }

  /** Back to forwarding with no delay. Connections accepted while black-holed stay dead. */
  restore(): void {
    this.mode = "pass";
    this.delay = 0;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    if (this.mode === "refuse") {
      client.on("error", () => {});
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, upstream: null };
    this.pairs.add(pair);
    client.on("error", () => this.drop(pair));
    client.on("close", () => this.drop(pair));
    if (this.mode === "blackhole") {
      client.on("data", () => {}); // read and drop: the peer sees an open, silent server
      return;
    }
    const upstream = connect({ host: this.options.targetHost, port: this.options.targetPort });
    pair.upstream = upstream;
    upstream.on("error", () => this.drop(pair));
    upstream.on("close", () => this.drop(pair));
    client.on("data", (chunk) => this.forward(upstream, chunk));
    upstream.on("data", (chunk) => this.forward(client, chunk));
  }

  private forward(to: Socket, chunk: Buffer): void {
    if (this.mode === "blackhole") return;
    if (this.delay <= 0) {
      to.write(chunk);
      return;
    }
    // Never before an earlier chunk to the same socket (the delay may have been shortened).
    const due = Math.max(Date.now() + this.delay, this.lastDue.get(to) ?? 0);
    this.lastDue.set(to, due);
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, due - Date.now());
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.resetAndDestroy();
    pair.upstream?.resetAndDestroy();
  }
}

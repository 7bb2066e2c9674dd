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
  private readonly delayed = new WeakMap<Socket, { due: number; chunk: Buffer }[]>();
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
    const queue = this.delayed.get(to);
    if (!queue && this.delay <= 0) {
      to.write(chunk);
      return;
    }
    // Behind every chunk still delayed for the same socket, even if the delay has since shrunk.
    const due = Math.max(Date.now() + this.delay, queue?.at(-1)?.due ?? 0);
    if (queue) queue.push({ due, chunk });
    else {
      const fresh = [{ due, chunk }];
      this.delayed.set(to, fresh);
      this.deliverLater(to, fresh);
    }
  }

  /** Writes a socket's delayed chunks in order, each when due. */
  private deliverLater(to: Socket, queue: { due: number; chunk: Buffer }[]): void {
    setTimeout(() => {
      while (queue.length > 0 && queue[0]!.due <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) this.deliverLater(to, queue);
      else this.delayed.delete(to);
    }, Math.max(0, queue[0]!.due - Date.now()));
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.resetAndDestroy();
    pair.upstream?.resetAndDestroy();
  }
}

import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { defaultMetricsText } from "@tokenvault/token";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** `Authorization: Bearer <token>`, compared in constant time (both sides hashed first). */
function authorized(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/.exec(header ?? "")?.[1];
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

export interface MetricsServer {
  port: number;
  /** The address listened on. */
  address: string;
  close(): Promise<void>;
}

/**
 * The worker's Prometheus endpoint: GET /metrics (the process's token-service and Node metrics)
 * to a bearer of `token`; 401 without it, 404 for any other path or method. Listens on `host`,
 * loopback (127.0.0.1) unless told otherwise: never every interface by default.
 */
export async function startMetricsServer(options: { port: number; token: string; host?: string }): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const noStore = { "cache-control": "no-store" };
    if (request.method !== "GET" || request.url !== "/metrics") return void response.writeHead(404, noStore).end("Not found");
    if (!authorized(request.headers.authorization, options.token)) return void response.writeHead(401, { ...noStore, "www-authenticate": "Bearer" }).end("Unauthorized");
    defaultMetricsText().then(
      ({ body, contentType }) => response.writeHead(200, { ...noStore, "content-type": contentType }).end(body),
      () => response.writeHead(500, noStore).end("metrics unavailable"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    address: (server.address() as AddressInfo).address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { randomBytes } from "node:crypto";
import pg from "pg";
import { ChangeFeed, type ChangeFeedOptions, type FeedConnection, type FeedHandlers } from "./change-feed";

/** The channel the "TokenStoreEntry_notify" trigger sends '<namespace>:<tokenKey>' to (see its migration). */
export const STORE_CHANNEL = "tokenvault_store";

/**
 * The PostgreSQL store's change notices for one namespace: a LISTEN connection of its own (a plain
 * pg client: Prisma's pool cannot hold a session), with TCP keep-alive and a heartbeat NOTIFY to a
 * channel of its own. The notices come from a trigger on "TokenStoreEntry", so each is delivered
 * at its write's commit, never for a rolled-back one.
 */
export function postgresChanges(databaseUrl: string, namespace: string, options: ChangeFeedOptions = {}): ChangeFeed {
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const timeoutMs = options.heartbeatTimeoutMs ?? 10_000;
  const prefix = `${namespace}:`;
  const transport = async (handlers: FeedHandlers): Promise<FeedConnection> => {
    const heartbeat = `tokenvault_store_heartbeat_${randomBytes(8).toString("hex")}`;
    const client = new pg.Client({
      connectionString: databaseUrl,
      application_name: "tokenvault-store-listener",
      keepAlive: true,
      keepAliveInitialDelayMillis: heartbeatMs,
      // A path that is silent from the start: neither the connect nor LISTEN may wait forever.
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
    });
    client.on("notification", (message) => {
      if (message.channel === heartbeat) handlers.echo(message.payload ?? "");
      else if (message.channel === STORE_CHANNEL && message.payload?.startsWith(prefix)) handlers.changed(message.payload.slice(prefix.length));
    });
    client.on("error", (error) => handlers.lost(error));
    client.on("end", () => handlers.lost());
    const close = async () => {
      await client.end().catch(() => undefined);
      // A silent path never answers the goodbye: drop the socket too.
      streamOf(client)?.destroy?.();
    };
    try {
      await client.connect();
      await client.query(`LISTEN ${STORE_CHANNEL}; LISTEN ${heartbeat}`);
    } catch (error) {
      await close();
      throw error;
    }
    // Passive: the listener alone must not keep a process alive that has nothing else to do.
    streamOf(client)?.unref?.();
    return { beat: (payload) => client.query("SELECT pg_notify($1, $2)", [heartbeat, payload]), close };
  };
  return new ChangeFeed("token store (PostgreSQL)", transport, options);
}

/** pg keeps the socket on its connection, untyped. */
function streamOf(client: pg.Client): { unref?: () => void; destroy?: () => void } | undefined {
  return (client as unknown as { connection?: { stream?: { unref?: () => void; destroy?: () => void } } }).connection?.stream;
}

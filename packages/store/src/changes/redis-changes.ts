import { randomBytes } from "node:crypto";
import { redisClientOptions } from "../backends/redis-connection";
import { ChangeFeed, type ChangeFeedOptions, type FeedConnection, type FeedHandlers } from "./change-feed";

/**
 * The Redis store's change notices for one key prefix: the store's scripts PUBLISH each changed
 * entry's index to `<prefix>:changes` in the same script as the write. A subscriber connection of
 * its own (node-redis `duplicate()` of a publisher that sends the heartbeat to a channel of its
 * own). Neither reconnects by itself: a lost connection is replaced by the feed, which tells its
 * observers `down` first. A single Redis only (not a Cluster; Upstash and Vercel KV, over HTTP,
 * cannot subscribe).
 */
export function redisChanges(url: string, prefix: string, options: ChangeFeedOptions = {}): ChangeFeed {
  const timeoutMs = options.heartbeatTimeoutMs ?? 10_000;
  const transport = async (handlers: FeedHandlers): Promise<FeedConnection> => {
    const { createClient } = await import("redis");
    const base = redisClientOptions(url, { connectTimeoutMs: Math.min(timeoutMs, 2_000), commandTimeoutMs: timeoutMs });
    // Named, so an operator (or a test) can tell these connections in CLIENT LIST.
    const publisher = createClient({ ...base, name: "tokenvault-store-changes", socket: { ...base.socket, reconnectStrategy: false } });
    const subscriber = publisher.duplicate();
    const heartbeat = `${prefix}:heartbeat:${randomBytes(8).toString("hex")}`;
    for (const client of [publisher, subscriber]) {
      client.on("error", (error: unknown) => handlers.lost(error));
      client.on("end", () => handlers.lost());
    }
    const close = () => {
      for (const client of [publisher, subscriber]) if (client.isOpen) client.destroy();
      return Promise.resolve();
    };
    try {
      await Promise.all([publisher.connect(), subscriber.connect()]);
      await subscriber.subscribe(`${prefix}:changes`, (message: string) => handlers.changed(message));
      await subscriber.subscribe(heartbeat, (message: string) => handlers.echo(message));
    } catch (error) {
      await close();
      throw error;
    }
    // Passive: the feed alone must not keep a process alive that has nothing else to do.
    publisher.unref();
    subscriber.unref();
    return { beat: (payload) => publisher.publish(heartbeat, payload), close };
  };
  return new ChangeFeed("token store (Redis)", transport, options);
}

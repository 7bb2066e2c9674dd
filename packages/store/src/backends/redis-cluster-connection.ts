// The Redis store on a Redis Cluster (node-redis's createCluster), with the same bounded failure as
// on one Redis (redis-connection.ts): the per-node connections get the same timeouts, reconnect
// strategy and no offline queue, and every script call has the same deadline.
import type { RedisClusterOptions } from "redis";
import { toStorageError } from "../errors";
import { nodeRedisScripts, type NodeRedisLike } from "./clients";
import { redisClientOptions, redisEndpoint, withCommandDeadline, type RedisConnectionOptions } from "./redis-connection";
import { warnWithoutPersistence } from "./redis-persistence";
import { RedisTokenStore, type RedisTokenStoreOptions } from "./redis-store";

/**
 * createCluster options for `nodes` (redis:// or rediss:// URLs of some of the cluster's nodes,
 * used to discover the rest). Credentials and TLS of the first URL apply to every node, as
 * node-redis connects to discovered nodes with `defaults` only.
 */
export function redisClusterOptions(nodes: string[], options: RedisConnectionOptions = {}): RedisClusterOptions {
  if (nodes.length === 0) throw toStorageError("connect", null, new Error("no Redis Cluster node given"));
  const { url: _url, ...bounded } = redisClientOptions(nodes[0]!, options);
  const first = new URL(nodes[0]!);
  return {
    rootNodes: nodes.map((url) => ({ url })),
    defaults: {
      ...bounded,
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      socket: { ...bounded.socket, ...(first.protocol === "rediss:" ? { tls: true as const } : {}) },
    },
  };
}

interface ClusterClient extends NodeRedisLike {
  on(event: "error" | "node-error", listener: (error: unknown) => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  readonly masters: unknown[];
  nodeClient(node: unknown): Promise<{ sendCommand(args: string[]): Promise<unknown> }>;
}

/**
 * A Redis token store on its own Redis Cluster client. All of the store's keys share one hash slot
 * (hashTag): each operation stays one atomic script, so the store lives on one master (and its
 * replicas); the cluster spreads the locks and everything else, not the store's entries.
 * Connecting fails with StorageError UNAVAILABLE/TIMEOUT when the cluster cannot be reached.
 */
export async function connectRedisClusterTokenStore(nodes: string[], options: RedisConnectionOptions & RedisTokenStoreOptions = {}): Promise<RedisTokenStore> {
  const { createCluster } = await import("redis");
  const cluster = createCluster(redisClusterOptions(nodes, options)) as unknown as ClusterClient;
  const log = options.log ?? ((message: string) => console.warn(message));
  const endpoint = `cluster via ${redisEndpoint(nodes[0]!)}`;
  let failing = false;
  const onError = (error: unknown) => {
    if (failing) return;
    failing = true;
    log(`token store: Redis ${endpoint} unreachable (${error instanceof Error ? error.constructor.name : typeof error}); reconnecting`);
  };
  // An 'error' nobody listens to would crash the process; node errors are reconnect attempts.
  cluster.on("error", onError);
  cluster.on("node-error", onError);
  const commandTimeoutMs = options.commandTimeoutMs ?? 250;
  let timer: NodeJS.Timeout | undefined;
  const connecting = cluster.connect();
  try {
    const ms = (options.connectTimeoutMs ?? 250) + 2 * commandTimeoutMs;
    await Promise.race([connecting, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no cluster within ${ms} ms`)), ms)))]);
  } catch (error) {
    connecting.catch(() => {});
    cluster.destroy();
    throw toStorageError("connect", null, error);
  } finally {
    clearTimeout(timer);
  }
  failing = false;
  // Each master is asked: the store's slot may move to any of them.
  for (const master of cluster.masters) {
    await warnWithoutPersistence(await cluster.nodeClient(master), endpoint, log, 2 * commandTimeoutMs).catch(() => {});
  }
  const scripts = withCommandDeadline(nodeRedisScripts(cluster), commandTimeoutMs);
  scripts.close = () => Promise.race([cluster.close(), new Promise((_, reject) => setTimeout(reject, commandTimeoutMs))]).then(() => undefined, () => cluster.destroy());
  return new RedisTokenStore(scripts, { ...options, hashTag: true });
}

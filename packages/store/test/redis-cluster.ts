// A 3-master Redis Cluster of the test's own on free ports of 127.0.0.1, in a temporary directory:
// redis-server --cluster-enabled yes per node, joined by redis-cli --cluster create.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "redis";
import { freePort, until } from "./redis-server";

const REDIS_SERVER = "/usr/bin/redis-server";
const REDIS_CLI = "/usr/bin/redis-cli";
const run = promisify(execFile);

/** Why a cluster cannot be started here, or undefined when it can. */
export const clusterUnavailable = existsSync(REDIS_SERVER) && existsSync(REDIS_CLI) ? undefined : `${REDIS_SERVER} or ${REDIS_CLI} is missing`;

export class RedisCluster {
  private constructor(
    readonly ports: number[],
    private readonly dir: string,
    private readonly processes: ChildProcess[],
  ) {}

  get urls(): string[] {
    return this.ports.map((port) => `redis://127.0.0.1:${port}`);
  }

  static async start(masters = 3): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), "tokenvault-cluster-"));
    const ports: number[] = [];
    while (ports.length < masters) {
      const port = await freePort();
      // The cluster bus listens on port + 10000: keep both free of each other.
      if (!ports.includes(port) && port + 10_000 < 65_536) ports.push(port);
    }
    const processes: ChildProcess[] = [];
    const cluster = new RedisCluster(ports, dir, processes);
    try {
      for (const port of ports) processes.push(cluster.spawnNode(port));
      for (const port of ports) await until(5_000, () => cli(port, "PING").then((reply) => (reply === "PONG" ? true : undefined), () => undefined), `redis-server on ${port}`);
      await run(REDIS_CLI, ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], { timeout: 20_000 });
      for (const port of ports) {
        await until(15_000, () => cli(port, "CLUSTER", "INFO").then((info) => (/cluster_state:ok/.test(info) ? true : undefined), () => undefined), `cluster_state:ok on ${port}`);
      }
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Every key (and value) on every master matching `pattern`, as text. */
  async dump(pattern: string): Promise<string> {
    const lines: string[] = [];
    for (const url of this.urls) {
      const client = await createClient({ url }).connect();
      try {
        for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 100 })) {
          for (const key of keys) {
            const type = await client.type(key);
            const value = type === "hash" ? await client.hGetAll(key) : type === "zset" ? await client.zRangeWithScores(key, 0, -1) : await client.get(key);
            lines.push(`${url} ${key} ${JSON.stringify(value)}`);
          }
        }
      } finally {
        await client.close();
      }
    }
    return lines.join("\n");
  }

  /** A node keeps its identity in its nodes-<port>.conf: restarted, it rejoins the cluster. */
  private spawnNode(port: number): ChildProcess {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--cluster-enabled", "yes"];
    args.push("--cluster-config-file", join(this.dir, `nodes-${port}.conf`), "--dir", this.dir);
    return spawn(REDIS_SERVER, args, { stdio: "ignore" });
  }

  /** Starts a killed node again on its port and waits until every node reports cluster_state:ok. */
  async restart(url: string): Promise<void> {
    const index = this.urls.indexOf(url);
    this.processes[index] = this.spawnNode(this.ports[index]!);
    for (const port of this.ports) {
      await until(15_000, () => cli(port, "CLUSTER", "INFO").then((info) => (/cluster_state:ok/.test(info) ? true : undefined), () => undefined), `cluster_state:ok on ${port}`);
    }
  }

  /** SIGKILL one node (by its URL), as in a crash. */
  async kill(url: string): Promise<void> {
    const child = this.processes[this.urls.indexOf(url)];
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, "exit");
        child.kill("SIGKILL");
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(REDIS_CLI, ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 2_000 });
  return stdout.trim();
}

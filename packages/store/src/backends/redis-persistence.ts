// A Redis that keeps nothing on disk loses every entry when it restarts: every sign-in session and
// stored token, so everyone is signed out. Nothing fails then, the store is simply empty: hence a
// warning when the store connects to such a server, said in words an operator can act on.

/** What the check needs of a node-redis client. */
export interface CommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * Asks the server (INFO persistence, CONFIG GET save) whether it persists: an append-only file or
 * RDB save points. Logs a warning when it reports neither; says nothing when it cannot tell (a
 * managed Redis that disables CONFIG) or the server does not answer within `ms`.
 */
export async function warnWithoutPersistence(client: CommandClient, endpoint: string, log: (message: string) => void, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  const ask = async () => {
    const info = String(await client.sendCommand(["INFO", "persistence"]));
    const save = await client.sendCommand(["CONFIG", "GET", "save"]);
    return { aof: /^aof_enabled:1\s*$/m.test(info), rdb: Array.isArray(save) && typeof save[1] === "string" && save[1].trim() !== "" };
  };
  try {
    const answer = await Promise.race([ask(), deadline]);
    if (!answer || answer.aof || answer.rdb) return;
    log(
      `token store: Redis at ${endpoint} reports persistence off (no append-only file, no RDB save points): ` +
        "a restart of Redis loses every stored token and sign-in session (everyone is signed out). " +
        "Turn on appendonly yes (or RDB save points), or use a Redis that persists (Upstash does).",
    );
  } catch {
    // CONFIG disabled, or the server went away: cannot tell, nothing to say
  } finally {
    clearTimeout(timer);
  }
}

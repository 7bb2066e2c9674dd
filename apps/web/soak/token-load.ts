// One token-service load process of `pnpm soak` (forked with an IPC channel by soak.ts): callers
// loop on getValidToken through the soak's TCP proxy. Its settings arrive by message (not from
// the environment); it tells the parent how its calls went per fault, and on "stop" closes the
// service (writing queued audit rows) and reports its totals.
import { openDatabase } from "@tokenvault/db";
import { ProviderRegistry, simulatedAdapters, TokenError, TokenService, silentLogger } from "@tokenvault/token";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { PhaseLedger, type FromLoad, type LoadConfig, type ToLoad } from "./ledger";

let unhandled = 0;
process.on("unhandledRejection", () => unhandled++);

const send = (message: FromLoad) => process.send?.(message);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(config: LoadConfig): Promise<void> {
  const db = await openDatabase({ databaseUrl: config.databaseUrl, pool: { connectTimeoutMs: config.connectTimeoutMs, queryTimeoutMs: config.queryTimeoutMs, max: 5 } });
  const service = new TokenService({
    prisma: db.prisma,
    vault: new Vault(createKeyRing(Buffer.from(config.keyHex, "hex"))),
    providers: new ProviderRegistry(simulatedAdapters(config.simulatorUrl)),
    logger: silentLogger,
    listenDatabaseUrl: config.databaseUrl,
  });
  const ledger = new PhaseLedger();
  /**
   * Calls answered with a token or a TokenError, each of which queues one token-read audit entry;
   * but for VAULT_UNAVAILABLE: a read refused because the database is unreachable queues none.
   */
  let answered = 0;
  let unreachable = 0;
  let running = true;

  process.on("message", (message: ToLoad) => {
    if (message.type === "phase") ledger.phase(message.index, message.endedAt);
    if (message.type === "stop") running = false;
  });

  const caller = async () => {
    while (running) {
      const company = config.companies[Math.floor(Math.random() * config.companies.length)]!;
      const started = Date.now();
      try {
        await service.getValidToken(company, "xero", config.userId);
        answered++;
        ledger.record("ok", started);
      } catch (error) {
        if (error instanceof TokenError && error.code === "VAULT_UNAVAILABLE") unreachable++;
        else if (error instanceof TokenError) answered++;
        ledger.record(error instanceof TokenError ? error.code : `UNTYPED ${error instanceof Error ? error.name : typeof error}`, started);
        await sleep(50);
      }
    }
  };
  send({ type: "ready" });
  await Promise.all(Array.from({ length: config.concurrency }, caller));
  const pendingBeforeClose = service.pendingAuditRows;
  await service.close();
  await db.close();
  const done: FromLoad = { type: "done", phases: ledger.report(), answered, unreachable, pendingBeforeClose, pendingAfterClose: service.pendingAuditRows, unhandled };
  // The channel keeps the process alive: closed once the parent has the totals.
  process.send?.(done, () => process.disconnect());
}

process.once("message", (message: ToLoad) => {
  if (message.type !== "start") return;
  run(message.config).catch((error: unknown) => {
    send({ type: "failed", error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    process.exitCode = 1;
  });
});

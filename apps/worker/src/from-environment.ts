import { getDatabase } from "@tokenvault/db";
import { getTokenService, pinoLogger } from "@tokenvault/token";
import type { BossTarget } from "./boss";
import { withProviderFacts } from "./config";
import { workerEnv } from "./env";
import { TokenvaultWorker } from "./worker";

/**
 * The process's worker, wired from the environment: the token service and database the rest of
 * the process uses, pg-boss on that same database (its URL, or the embedded PGlite instance),
 * the token store's cleanup, pino log lines. Throws KeyConfigError naming a bad variable before anything starts.
 */
export async function startWorkerFromEnvironment(options: { storeCleanup?: boolean } = {}): Promise<TokenvaultWorker> {
  const { config, databaseUrl } = workerEnv();
  const [service, database] = await Promise.all([getTokenService(), getDatabase()]);
  let target: BossTarget;
  if (databaseUrl) target = { connectionString: databaseUrl };
  else if (database.pglite) target = { pglite: database.pglite };
  else throw new Error("worker: the database has neither a URL nor an embedded instance");
  // The token store's cleanup is the process's choice: the web dev server hosts the worker without the store package.
  const storeCleanup = options.storeCleanup === false ? undefined : async () => (await import("@tokenvault/store")).getTokenStore().cleanup();
  const worker = new TokenvaultWorker({ target, service, config: withProviderFacts(config, service.providerUpkeepFacts()), storeCleanup, logger: pinoLogger({ name: "tokenvault-worker" }) });
  await worker.start();
  return worker;
}

// One OS process of the database-fault herd: its own TokenService and connection pool. On each
// "go <cycle>" line it runs CALLERS concurrent getValidToken calls and answers with one JSON
// line: the tokens seen, each failure as "<code>: <message>", and unhandled rejections so far.
import { createInterface } from "node:readline";
import { openDatabase } from "@tokenvault/db";
import { keyRingFromSettings, TokenError, Vault } from "@tokenvault/vault";
import { silentLogger } from "../src/logger";
import { TokenService } from "../src/token-service";
import { registryFor, TEST_OPTIONS } from "./harness";

let unhandled = 0;
process.on("unhandledRejection", () => unhandled++);

const env = process.env;
const [databaseUrl, simulatorUrl, keyHex, companyId, provider] = [env.HERD_DATABASE_URL, env.HERD_SIMULATOR_URL, env.HERD_KEY, env.HERD_COMPANY, env.HERD_PROVIDER];
if (!databaseUrl || !simulatorUrl || !keyHex || !companyId || !provider) throw new Error("fault worker: missing HERD_* settings");
const callers = Number(env.HERD_CALLERS ?? 20);

const db = await openDatabase({ databaseUrl, pool: { connectTimeoutMs: 2_000, queryTimeoutMs: 2_000 } });
const service = new TokenService({
  prisma: db.prisma,
  vault: new Vault(keyRingFromSettings({ current: keyHex, previous: undefined })),
  providers: registryFor(simulatorUrl),
  logger: silentLogger,
  // The test holds a refresh at the provider for a while: no timeout and retry meanwhile (that would be a second refresh).
  options: { ...TEST_OPTIONS, providerTimeoutMs: 8_000 },
});

const describeError = (error: unknown) => (error instanceof TokenError ? `${error.code}: ${error.message}` : `untyped ${error instanceof Error ? error.name : typeof error}`);

process.stdout.write(JSON.stringify({ ready: process.pid }) + "\n");
for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.split(" ");
  if (command === "quit") break;
  if (command === "go") {
    const settled = await Promise.allSettled(Array.from({ length: callers }, () => service.getValidToken(companyId, provider, `fault-${process.pid}`)));
    const tokens = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value.accessToken] : []));
    const errors = settled.flatMap((s) => (s.status === "rejected" ? [describeError(s.reason)] : []));
    process.stdout.write(JSON.stringify({ cycle: Number(arg), tokens: [...new Set(tokens)], count: tokens.length, errors, unhandled }) + "\n");
  }
}
await service.close();
await db.close();

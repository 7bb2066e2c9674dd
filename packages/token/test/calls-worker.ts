// One OS process of the provider-call limit tests and bench: its own TokenService whose
// tokenService.fetch limits live in Redis (or PostgreSQL) under the test's prefix. On
// "go <durationMs> <startAtEpochMs> <company,company...>" it starts CALLS_CALLERS callers at the
// given wall-clock time, spread over the companies' Xero organisations, each calling Organisation
// in a loop until the duration ends (calls still waiting then are aborted), and answers one JSON line.
import { createInterface } from "node:readline";
import { createClient } from "redis";
import { openDatabase } from "@tokenvault/db";
import { keyRingFromSettings, Vault } from "@tokenvault/vault";
import { silentLogger } from "../src/logger";
import { ProviderCallError, type CallLimitsBackend } from "../src/provider-calls";
import { TokenService } from "../src/token-service";
import { registryFor, TEST_OPTIONS } from "./harness";

const env = process.env;
const [databaseUrl, simulatorUrl, keyHex, redisUrl, prefix] = [env.CALLS_DATABASE_URL, env.CALLS_SIMULATOR_URL, env.CALLS_KEY, env.CALLS_REDIS_URL, env.CALLS_PREFIX];
if (!databaseUrl || !simulatorUrl || !keyHex || !prefix) throw new Error("calls worker: missing CALLS_* settings");
const callers = Number(env.CALLS_CALLERS ?? 50);

const db = await openDatabase({ databaseUrl });
const redis = redisUrl ? await createClient({ url: redisUrl }).connect() : null;
const limits: CallLimitsBackend = redis ? { kind: "redis", client: redis, prefix } : { kind: "database" };
const service = new TokenService({
  prisma: db.prisma,
  vault: new Vault(keyRingFromSettings({ current: keyHex, previous: undefined })),
  providers: registryFor(simulatorUrl),
  logger: silentLogger,
  listenDatabaseUrl: databaseUrl,
  options: { ...TEST_OPTIONS, tokenCache: true, providerTimeoutMs: 5_000 },
  providerCalls: { limits, limitOverrides: JSON.parse(env.CALLS_LIMITS ?? "{}") as Record<string, never>, options: { totalTimeoutMs: 60_000 } },
});

process.stdout.write(JSON.stringify({ ready: process.pid }) + "\n");
for await (const line of createInterface({ input: process.stdin })) {
  const [command, duration, startAt, list] = line.split(" ");
  if (command === "quit") break;
  if (command !== "go") continue;
  const companies = list!.split(",");
  const ok: Record<string, number> = Object.fromEntries(companies.map((c) => [c, 0]));
  const outcomes: Record<string, number> = {};
  const latencies: number[] = [];
  // Warm: each company's token read once (and cached), so the timed run measures calls only.
  for (const companyId of companies) await service.getValidToken(companyId, "xero", "load");
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
  const end = Date.now() + Number(duration);
  const stop = AbortSignal.timeout(Number(duration));
  await Promise.all(
    Array.from({ length: callers }, async (_, i) => {
      const companyId = companies[i % companies.length]!;
      while (Date.now() < end) {
        const started = performance.now();
        try {
          const response = await service.fetch({ companyId, provider: "xero" }, "Organisation", { signal: stop, userId: "load" });
          if (Date.now() <= end) ok[companyId]! += 1;
          latencies.push(performance.now() - started);
          outcomes[String(response.status)] = (outcomes[String(response.status)] ?? 0) + 1;
        } catch (error) {
          const key = error instanceof ProviderCallError ? `${error.code}${error.answer ? `:${error.answer.status}` : ""}` : stop.aborted ? "aborted" : String(error);
          outcomes[key] = (outcomes[key] ?? 0) + 1;
          if (!stop.aborted && !(error instanceof ProviderCallError)) await new Promise((r) => setTimeout(r, 50));
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ ok, outcomes, p50: latencies[Math.floor(latencies.length / 2)] ?? null }) + "\n");
}
await service.close();
await redis?.close();
await db.close();

// A process that takes one call slot of the limits (Redis or PostgreSQL, per SLOT_BACKEND) with
// a short lease, says so, and dies at once by SIGKILL (no release, no exit handler): the crash
// the lease must survive.
import { createClient } from "redis";
import { openDatabase } from "@tokenvault/db";
import { limitSettingsOf } from "../src/provider-calls/limits/call-limiter";
import { PostgresSlotStore } from "../src/provider-calls/limits/postgres-slots";
import { RedisSlotStore } from "../src/provider-calls/limits/redis-slots";

const env = process.env;
const settings = limitSettingsOf({ concurrency: 1, tenantConcurrency: 1, requestsPerMinute: null, requestsPerDay: null }, { leaseMs: Number(env.SLOT_LEASE_MS) });
const store =
  env.SLOT_BACKEND === "redis"
    ? new RedisSlotStore(await createClient({ url: env.SLOT_REDIS_URL! }).connect(), true, env.SLOT_PREFIX)
    : new PostgresSlotStore((await openDatabase({ databaseUrl: env.SLOT_DATABASE_URL! })).prisma, env.SLOT_PREFIX);
const answer = await store.tryTake({ scope: { provider: "xero", tenant: "org" }, settings, id: `holder-${process.pid}`, count: 1, waiterTtlMs: 2_000 });
process.stdout.write(JSON.stringify({ admitted: answer.admitted > 0 }) + "\n");
process.kill(process.pid, "SIGKILL");

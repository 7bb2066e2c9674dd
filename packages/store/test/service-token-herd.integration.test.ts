// The service token herd: PROCESSES OS processes x CALLERS concurrent callers, over EXPIRIES
// expiries of a short-lived client_credentials token from the simulator. Each round starts just
// after the shared token went stale (inside its margin); every round must cost exactly one mint
// at the simulator, and every caller of every process must get that round's new token.
// The backend is a parameter: HERD_BACKENDS=redis (default), or a list once others exist.
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, inject, it } from "vitest";
import { oidcEndpoints, startSimulator, type Simulator } from "@tokenvault/simulator";
import { herdBackend } from "./herd-backends";
import { LineProcess } from "@tokenvault/db/testing";

const PROCESSES = 4;
const CALLERS = 50;
const EXPIRIES = 10;
/**
 * Token lifetime at the simulator, and the margin: a token is stale 4 s after it was minted. The
 * window must outlast the longest stall of a round on a loaded machine, or a process descheduled
 * past it rightly finds the round's token stale and mints again. With a 3 s token, a run beside
 * the other suites saw a worker's first (cold) mint arrive after the token had expired
 * (MINT_FAILED "no future expiry", rightly); the workers now warm up before they report ready.
 */
const TTL_SEC = 8;
const MARGIN_MS = 4_000;
const BACKENDS = (process.env.HERD_BACKENDS ?? "redis,postgres").split(",").map((b) => b.trim());

interface RoundReport {
  round: number;
  tokens: string[];
  count: number;
  errors: string[];
  warnings: string[];
  ms: number;
  issuedAtMs: number | null;
  expiresAtMs: number | null;
}

// The workers (and the postgres backend's clean-up here) use this run's test database.
process.env.HERD_DATABASE_URL = inject("databaseUrl");

describe.each(BACKENDS)("service token herd on %s", (backendName) => {
  let sim: Simulator;
  const herd: LineProcess[] = [];
  const prefix = `test:herd:${randomBytes(6).toString("hex")}`;
  afterAll(async () => {
    await Promise.all(herd.map((p) => p.stop()));
    await sim?.close();
    await herdBackend(backendName).cleanup(prefix);
  });

  it(
    `${PROCESSES} processes x ${CALLERS} callers over ${EXPIRIES} expiries: one mint per expiry, everyone gets the new token`,
    async () => {
      const started = performance.now();
      sim = await startSimulator();
      const client = await sim.registerClient({ provider: "oidc", accessTokenTtlSec: TTL_SEC });
      // A slow token endpoint widens the window in which the other processes must wait, not mint.
      await sim.addFault({ kind: "latency", provider: "oidc", endpoint: "token", clientId: client.clientId, latencyMs: 150 });
      const mints = async () => (await sim.stats()).clients[`oidc/${client.clientId}`]?.clientCredentialsIssued ?? 0;

      const env = {
        HERD_BACKEND: backendName,
        HERD_PREFIX: prefix,
        HERD_KEY: randomBytes(32).toString("hex"),
        HERD_ENDPOINT: oidcEndpoints(sim.url).tokenEndpoint,
        HERD_CLIENT_ID: client.clientId,
        HERD_CLIENT_SECRET: client.clientSecret!,
        HERD_CALLERS: String(CALLERS),
        HERD_MARGIN_MS: String(MARGIN_MS),
      };
      herd.push(...Array.from({ length: PROCESSES }, () => new LineProcess(join(import.meta.dirname, "service-token-herd-worker.ts"), env, join(import.meta.dirname, ".."))));
      for (const worker of herd) await worker.next<{ ready: number }>(120_000); // starting tsx processes on a busy machine
      const ready = performance.now();

      let previous: string | undefined;
      const roundMs: number[] = [];
      // Round 0 is the first mint (nothing cached); rounds 1..EXPIRIES each follow an expiry.
      for (let round = 0; round <= EXPIRIES; round++) {
        for (const worker of herd) worker.send(`go ${round}`);
        const reports = await Promise.all(herd.map((w) => w.next<RoundReport>()));
        const tokens = new Set(reports.flatMap((r) => r.tokens));
        expect(reports.flatMap((r) => r.errors), `round ${round}: errors`).toEqual([]);
        expect(reports.flatMap((r) => r.warnings), `round ${round}: warnings`).toEqual([]);
        expect(reports.reduce((n, r) => n + r.count, 0)).toBe(PROCESSES * CALLERS);
        expect(tokens.size, `round ${round}: every caller holds the same token`).toBe(1);
        const [current] = [...tokens];
        expect(current, `round ${round}: the token is new`).not.toBe(previous);
        expect(await mints(), `round ${round}: mints at the simulator`).toBe(round + 1);
        previous = current;
        roundMs.push(Math.max(...reports.map((r) => r.ms)));

        // Sleep until the shared token is stale (expiry minus the margin, capped at half its lifetime).
        const { issuedAtMs, expiresAtMs } = reports[0]!;
        expect(issuedAtMs).not.toBeNull();
        const staleAt = expiresAtMs! - Math.min(MARGIN_MS, (expiresAtMs! - issuedAtMs!) / 2);
        if (round < EXPIRIES) await sleep(Math.max(0, staleAt - Date.now() + 50));
      }
      const total = await mints();
      expect(total).toBe(EXPIRIES + 1);
      console.log(
        `service token herd (${backendName}): ${PROCESSES} processes x ${CALLERS} callers, ${EXPIRIES} expiries + the first mint: ` +
          `${total} mints for ${EXPIRIES + 1} rounds (1 per expiry); slowest round ${Math.round(Math.max(...roundMs))} ms, ` +
          `median ${Math.round(roundMs.toSorted((a, b) => a - b)[Math.floor(roundMs.length / 2)]!)} ms; ` +
          `wall ${((performance.now() - started) / 1000).toFixed(1)} s (${((performance.now() - ready) / 1000).toFixed(1)} s after the workers were ready)`,
      );
    },
    240_000,
  );
});

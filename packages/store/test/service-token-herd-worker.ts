// One OS process of the service token herd: its own connection, store, lock and ServiceTokens.
// On each "go <round>" line from the parent it runs HERD_CALLERS concurrent getServiceToken
// calls and answers with one JSON line, including the shared token's expiry (read from the
// store) so the parent knows when the next expiry is due.
import { createInterface } from "node:readline";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { createServiceTokens } from "../src/index";
import { herdBackend } from "./herd-backends";

const env = process.env;
const [backendName, prefix, keyHex, tokenEndpoint, clientId, clientSecret] = [env.HERD_BACKEND, env.HERD_PREFIX, env.HERD_KEY, env.HERD_ENDPOINT, env.HERD_CLIENT_ID, env.HERD_CLIENT_SECRET];
if (!backendName || !prefix || !keyHex || !tokenEndpoint || !clientId || !clientSecret) throw new Error("service token herd worker: missing HERD_* settings");
const callers = Number(env.HERD_CALLERS ?? 50);

const vault = new Vault(createKeyRing(Buffer.from(keyHex, "hex")));
const { store, lock } = await herdBackend(backendName).open({ vault, prefix });
const warnings: string[] = [];
const service = createServiceTokens({
  store,
  lock,
  clientCredentials: { tokenEndpoint, clientId, clientSecret },
  envToken: null,
  marginMs: Number(env.HERD_MARGIN_MS ?? 500),
  pollMs: 20,
  logger: { info: () => {}, warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`) },
});

// Warm before reporting ready: fetch's first request loads undici and opens a socket, and the
// store's first read opens its pool. On a busy machine that first time took seconds, long enough
// for round 0's token to arrive stale and be minted again; the herd is about coordination, not that.
await (await fetch(new URL("/oidc/.well-known/openid-configuration", tokenEndpoint))).arrayBuffer();
await store.get("service-token:warm-up");

const lines = createInterface({ input: process.stdin });
process.stdout.write(JSON.stringify({ ready: process.pid }) + "\n");
for await (const line of lines) {
  const [command, arg] = line.split(" ");
  if (command === "quit") break;
  if (command === "go") {
    const started = performance.now();
    const settled = await Promise.allSettled(Array.from({ length: callers }, () => service.getServiceToken()));
    const ms = performance.now() - started;
    const tokens = settled.filter((s) => s.status === "fulfilled").map((s) => s.value);
    const errors = settled.filter((s) => s.status === "rejected").map((s) => String((s.reason as Error).message));
    const shared = await store.get("service-token:default");
    process.stdout.write(
      JSON.stringify({
        round: Number(arg),
        tokens: [...new Set(tokens)],
        count: tokens.length,
        errors,
        warnings: warnings.splice(0),
        ms,
        issuedAtMs: shared?.issuedAt.getTime() ?? null,
        expiresAtMs: shared?.expiresAt.getTime() ?? null,
      }) + "\n",
    );
  }
}
await store.close();
// Open stdin and fetch's pooled sockets would keep the process alive for seconds more.
process.exit(0);

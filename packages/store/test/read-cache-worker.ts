// Another app server writing a store the test process caches: its own connection and store over
// the shared backend (herd-backends.ts). On "revoke <token>" / "store <token>" it writes and
// answers with the wall-clock time its write returned (committed), shared by both processes.
import { createInterface } from "node:readline";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { herdBackend } from "./herd-backends";

const env = process.env;
const [backendName, prefix, keyHex] = [env.HERD_BACKEND, env.HERD_PREFIX, env.HERD_KEY];
if (!backendName || !prefix || !keyHex) throw new Error("read cache worker: missing HERD_* settings");
const { store } = await herdBackend(backendName).open({ vault: new Vault(createKeyRing(Buffer.from(keyHex, "hex"))), prefix });

process.stdout.write(JSON.stringify({ ready: process.pid }) + "\n");
for await (const line of createInterface({ input: process.stdin })) {
  const [command, token] = line.split(" ");
  if (command === "quit" || !token) break;
  if (command === "revoke") await store.revoke(token);
  else if (command === "store") await store.store(token, { id: `id-${token}`, subject: "worker", expiresAt: new Date(Date.now() + 60 * 60_000), claims: { by: "worker" } });
  process.stdout.write(JSON.stringify({ committedAt: Date.now() }) + "\n");
}
await store.close();
process.exit(0);

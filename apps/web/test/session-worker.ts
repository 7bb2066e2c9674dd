// Another app server's sessions over the same store (no read cache): ends or rotates a session
// on "end <cookie>" / "rotate <cookie>" and answers with the wall-clock time its write returned
// (committed). Its access tokens lapse at once, so every resolve with rotate: true rotates.
import { createInterface } from "node:readline";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { SessionCookieSealer } from "../src/server/auth/session-cookie";
import { ServerSessions } from "../src/server/auth/server-sessions";
import { herdBackend } from "../../../packages/store/test/herd-backends";

const env = process.env;
const [backendName, prefix, keyHex, secret] = [env.HERD_BACKEND, env.HERD_PREFIX, env.HERD_KEY, env.SESSION_TEST_SECRET];
if (!backendName || !prefix || !keyHex || !secret) throw new Error("session worker: missing settings");
const { store, lock } = await herdBackend(backendName).open({ vault: new Vault(createKeyRing(Buffer.from(keyHex, "hex"))), prefix });
const sessions = new ServerSessions({ store, lock, sealer: new SessionCookieSealer(secret), accessTtlMs: 1 });

process.stdout.write(JSON.stringify({ ready: process.pid }) + "\n");
for await (const line of createInterface({ input: process.stdin })) {
  const [command, cookie] = line.split(" ");
  if (command === "quit" || !cookie) break;
  if (command === "end") {
    await sessions.end(cookie);
    process.stdout.write(JSON.stringify({ committedAt: Date.now() }) + "\n");
  } else if (command === "rotate") {
    const result = await sessions.resolve(cookie, { rotate: true });
    process.stdout.write(JSON.stringify({ committedAt: Date.now(), cookie: result.kind === "active" ? result.cookie?.value : null }) + "\n");
  }
}
await store.close();
process.exit(0);

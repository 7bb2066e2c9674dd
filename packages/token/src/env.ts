import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { dbEnv, loadRootEnvFile, repoRoot } from "@tokenvault/db";
import { KeyConfigError } from "./errors";
import { generateKeyMaterial, keyRingFromSettings, type KeyRing } from "./vault/key-ring";

/** The only place this package reads process.env. */
const schema = z.object({
  TOKEN_ENCRYPTION_KEY: z.string().optional(),
  TOKEN_ENCRYPTION_KEYS_PREVIOUS: z.string().optional(),
  NODE_ENV: z.string().optional(),
});

function readEnv() {
  loadRootEnvFile();
  return schema.parse(process.env);
}

/** Where `pnpm dev` on the embedded database keeps its generated key (git-ignored, beside the data). */
export function devKeyFile(): string {
  return join(repoRoot(), ".data", "dev-encryption-key");
}

/**
 * The vault's key ring, validated: a missing or malformed key throws KeyConfigError naming
 * the variable. One convenience, for a fresh clone only: outside production and on the
 * embedded database, a missing TOKEN_ENCRYPTION_KEY is generated once into .data/.
 */
export function keyRingFromEnv(): KeyRing {
  const env = readEnv();
  let current = env.TOKEN_ENCRYPTION_KEY;
  if ((current === undefined || current.trim() === "") && env.NODE_ENV !== "production" && !dbEnv().databaseUrl) {
    current = loadOrCreateDevKey();
  }
  if (current === undefined || current.trim() === "") {
    throw new KeyConfigError(
      "TOKEN_ENCRYPTION_KEY",
      "is not set: the vault refuses to store or read secrets without it. Generate one with `pnpm token:generate-key`.",
    );
  }
  return keyRingFromSettings({ current, previous: env.TOKEN_ENCRYPTION_KEYS_PREVIOUS });
}

function loadOrCreateDevKey(): string {
  const file = devKeyFile();
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dirname(file), { recursive: true });
  const key = generateKeyMaterial();
  writeFileSync(file, `${key.hex}\n`, { mode: 0o600, flag: "wx" });
  console.warn(`TOKEN_ENCRYPTION_KEY is not set: generated a development key in ${file} (embedded database only).`);
  return key.hex;
}

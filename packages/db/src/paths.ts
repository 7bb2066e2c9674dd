import { join } from "node:path";
import { repoRoot } from "@tokenvault/kit";

export { loadOrCreateDevSecret, loadRootEnvFile, repoRoot } from "@tokenvault/kit";

export function migrationsDir(): string {
  return join(/*turbopackIgnore: true*/ repoRoot(), "prisma", "migrations");
}

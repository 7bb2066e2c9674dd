// `pnpm token:rotate-keys`: re-encrypts every vault record under TOKEN_ENCRYPTION_KEY.
// Safe to interrupt and rerun. Exits 1 when records remain that no configured key can open.
import { closeDatabase, getDatabase } from "@tokenvault/db";
import { keyRingFromEnv } from "../env";
import { TokenError, Vault } from "@tokenvault/vault";
import { consoleLogger } from "../logger";
import { formatRotationReport } from "../secrets/rotation-report";
import { rotateKeys } from "../key-rotation";
import type { RotationProgress } from "../secrets/rotation";
import { closeOnShutdown } from "../shutdown";

function progressPrinter(): (progress: RotationProgress) => void {
  const tty = process.stderr.isTTY;
  let lastLogged = -1;
  return ({ done, total }) => {
    const ratio = total === 0 ? 1 : done / total;
    if (tty) {
      const width = 30;
      const filled = Math.round(ratio * width);
      process.stderr.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.floor(ratio * 100)}% ${done}/${total} records`);
      if (done >= total) process.stderr.write("\n");
    } else {
      // Without a terminal: a line per 10% instead of a redrawn bar.
      const step = Math.floor(ratio * 10);
      if (step !== lastLogged) {
        lastLogged = step;
        console.error(`rotate-keys: ${done}/${total} records (${Math.floor(ratio * 100)}%)`);
      }
    }
  };
}

async function main(): Promise<number> {
  const vault = new Vault(keyRingFromEnv());
  // Interrupted (Ctrl-C, SIGTERM): each batch is its own transaction, so closing is all there is to do.
  closeOnShutdown(closeDatabase);
  const db = await getDatabase();
  try {
    const report = await rotateKeys({ prisma: db.prisma, vault, logger: consoleLogger, onProgress: progressPrinter() });
    console.log(formatRotationReport(report));
    return report.unknownKey > 0 || report.failed > 0 ? 1 : 0;
  } finally {
    await closeDatabase();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // TokenErrors are written to be shown; anything else gets its message only, never a value.
    console.error(error instanceof TokenError ? error.message : `rotate-keys failed: ${error instanceof Error ? error.message : "unknown error"}`);
    process.exit(1);
  },
);

import type { RotationReport } from "./rotation";

/** The human-readable summary `pnpm token:rotate-keys` prints. */
export function formatRotationReport(report: RotationReport): string {
  const lines = [
    `Current key: ${report.currentKeyId}`,
    `Re-encrypted: ${report.reencrypted}` + (report.changedConcurrently ? ` (${report.changedConcurrently} were rewritten by a refresh meanwhile)` : ""),
    ...(report.pendingConnects ? [`Connects in progress moved to the current key: ${report.pendingConnects}`] : []),
    ...(report.pendingRevocations ? [`Revocations still pending moved to the current key: ${report.pendingRevocations}`] : []),
    ...(report.webhookEndpoints ? [`Webhook signing secrets moved to the current key: ${report.webhookEndpoints}`] : []),
    "",
    "Records per key:",
    ...report.holdings.map(
      (h) =>
        `  ${h.keyId}  ${String(h.records).padStart(8)} records  ${h.current ? "current" : h.configured ? "previous (decrypt-only)" : "NOT CONFIGURED"}` +
        `  ${h.encryptions} encryptions`,
    ),
  ];
  const missing = report.holdings.filter((h) => !h.configured && h.records > 0);
  for (const h of missing) {
    lines.push(
      "",
      `${h.records} record(s) are sealed by key ${h.keyId}, which is not configured: they cannot be read.`,
      `Add that key to TOKEN_ENCRYPTION_KEYS_PREVIOUS and run this command again; do not delete it before then.`,
    );
  }
  if (report.failed > 0) lines.push("", `${report.failed} record(s) failed authentication (altered or moved) and were left unchanged.`);
  const retired = report.holdings.filter((h) => !h.current && h.configured && h.records === 0);
  if (retired.length > 0 && missing.length === 0 && report.failed === 0) {
    lines.push("", `No record uses ${retired.map((h) => h.keyId).join(", ")} any more: it can be removed from TOKEN_ENCRYPTION_KEYS_PREVIOUS.`);
  }
  return lines.join("\n");
}

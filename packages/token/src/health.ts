import type { HealthStatus, Prisma } from "@tokenvault/db";

/** Records a connection's health after an outcome; lastChecked moves with every record. */
export async function recordHealth(
  tx: Prisma.TransactionClient,
  companyId: string,
  provider: string,
  status: HealthStatus,
  errorMessage: string | null,
  at: Date,
): Promise<void> {
  await tx.connectionHealth.upsert({
    where: { companyId_connectionType: { companyId, connectionType: provider } },
    create: { companyId, connectionType: provider, status, errorMessage, lastChecked: at },
    update: { status, errorMessage, lastChecked: at },
  });
}

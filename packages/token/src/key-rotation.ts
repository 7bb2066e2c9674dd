// Key rotation of everything the vault seals: rotation (secrets/rotation.ts) re-seals the token
// secrets and PKCE verifiers itself, and the records other modules own through their resealers,
// registered here, above both, so that secrets/ imports none of its customers.
import { pendingRevocationResealer } from "./connect/revocation-queue";
import { rotateKeysWith, type Resealer, type RotateKeysOptions, type RotationReport } from "./secrets/rotation";
import { webhookEndpointResealer } from "./webhooks/webhook-endpoints";

/** In the order they run: pending revocations, then webhook endpoint secrets. */
export const RESEALERS: readonly Resealer[] = [pendingRevocationResealer, webhookEndpointResealer];

/** Re-encrypts every vault record under the current key (see rotateKeysWith). */
export function rotateKeys(options: RotateKeysOptions): Promise<RotationReport> {
  return rotateKeysWith(RESEALERS, options);
}

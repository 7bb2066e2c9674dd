import { randomBytes, randomInt, randomUUID } from "node:crypto";

/** Opaque, unguessable token value. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** Short prefixed id for records the control API shows (never a secret). */
export function recordId(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** QuickBooks realm (company) ids are long decimal strings. */
export function realmId(): string {
  let digits = "9130";
  for (let i = 0; i < 12; i++) digits += String(randomInt(10));
  return digits;
}

export const uuid = randomUUID;

/** Named after the realm so the consent page and CompanyInfo agree without storing it. */
export function intuitCompanyName(realm: string): string {
  return `Sandbox Company_US_${realm.slice(-4)}`;
}

import { createHash, timingSafeEqual } from "node:crypto";
import type { Caller } from "./caller";

/**
 * Seeded users of two companies, for development and tests (TOKENVAULT_DEMO_USERS). All share
 * one demo password; there is no user table.
 */
export const LOCAL_USERS: readonly Caller[] = [
  { userId: "alice", name: "Alice Admin", companyId: "acme", role: "admin" },
  { userId: "bob", name: "Bob Member", companyId: "acme", role: "member" },
  { userId: "carol", name: "Carol Admin", companyId: "globex", role: "admin" },
  { userId: "dave", name: "Dave Member", companyId: "globex", role: "member" },
];

export const DEMO_PASSWORD = "tokenvault";

const digest = (value: string) => createHash("sha256").update(value).digest();

export function verifyLocalUser(userId: string, password: string): Caller | null {
  const user = LOCAL_USERS.find((u) => u.userId === userId);
  // Compare in constant time whether or not the user exists.
  const ok = timingSafeEqual(digest(password), digest(DEMO_PASSWORD));
  return user && ok ? user : null;
}

/** The users of a company, for an administrator's sessions view. */
export function localMembers(companyId: string): Caller[] {
  return LOCAL_USERS.filter((u) => u.companyId === companyId);
}

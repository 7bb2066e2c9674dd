import { createHash, timingSafeEqual } from "node:crypto";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Whether the request carries `Authorization: Bearer <token>`, compared in constant time (both
 * sides hashed first, so neither the value nor its length leaks through timing). No token configured: never.
 */
export function hasBearerToken(request: Request, token: string | null): boolean {
  const presented = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
  return token !== null && presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

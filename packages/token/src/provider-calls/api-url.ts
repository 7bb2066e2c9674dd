// Where a provider call goes: the provider's API base (definitions.ts: endpoints.api + apiBase
// path, per realm / tenant) and the headers naming the tenant. The token is only ever sent below
// endpoints.api: an absolute URL elsewhere is refused before anything is sent.
import { TokenError } from "@tokenvault/vault";
import type { ProviderAdapter } from "../providers/types";

export interface CallTarget {
  url: URL;
  /** Headers the provider needs beside Authorization (Xero: xero-tenant-id; an idempotency header). */
  headers: Record<string, string>;
}

const trimSlash = (value: string) => value.replace(/\/+$/, "");

/** The connection's API base: endpoints.api + apiBase.path with {realmId} / {tenantId} filled in. */
export function apiBaseUrl(adapter: Pick<ProviderAdapter, "id" | "displayName" | "endpoints" | "apiBase">, externalId: string | null): string {
  const path = adapter.apiBase?.path ?? "";
  if (/\{(realmId|tenantId)\}/.test(path) && !externalId) {
    throw new TokenError("INVALID_STATE", `This ${adapter.displayName} connection has no company id to call its API with. Reconnect ${adapter.displayName}.`);
  }
  const filled = path.replace(/\{(realmId|tenantId)\}/g, () => encodeURIComponent(externalId!));
  return trimSlash(adapter.endpoints.api) + filled;
}

/**
 * The URL and extra headers of one call. `pathOrUrl` is a path below the connection's base
 * ("Invoices", "/companyinfo/123?minorversion=75") or an absolute URL below the provider's
 * endpoints.api (e.g. Xero's https://api.xero.com/connections); anything else is INVALID_INPUT.
 */
export function callTarget(
  adapter: Pick<ProviderAdapter, "id" | "displayName" | "endpoints" | "apiBase">,
  externalId: string | null,
  pathOrUrl: string,
  idempotencyKey: string | undefined,
): CallTarget {
  if (typeof pathOrUrl !== "string" || pathOrUrl === "") throw new TokenError("INVALID_INPUT", "A path or URL is required.");
  let url: URL;
  if (/^[a-z][a-z0-9+.-]*:/i.test(pathOrUrl)) {
    url = new URL(pathOrUrl);
    const root = new URL(trimSlash(adapter.endpoints.api) + "/");
    const below = url.pathname.startsWith(root.pathname) || url.pathname === root.pathname.slice(0, -1);
    if (url.origin !== root.origin || !below) {
      throw new TokenError("INVALID_INPUT", `Only ${adapter.displayName}'s API (${root.origin}${root.pathname}) can be called with its token.`);
    }
  } else {
    const base = apiBaseUrl(adapter, externalId);
    url = new URL(base + (pathOrUrl.startsWith("/") ? pathOrUrl : `/${pathOrUrl}`));
    // "../" in a path could climb out of the tenant's base: refuse rather than guess.
    if (!url.href.startsWith(base + "/") && url.href !== base) throw new TokenError("INVALID_INPUT", "The path must stay below the connection's API base.");
  }
  const headers: Record<string, string> = {};
  const tenantHeader = adapter.apiBase?.tenantHeader;
  if (tenantHeader && externalId) headers[tenantHeader] = externalId;
  const idempotency = adapter.apiBase?.idempotency;
  if (idempotencyKey && idempotency) {
    if ("query" in idempotency) url.searchParams.set(idempotency.query, idempotencyKey);
    else headers[idempotency.header.toLowerCase()] = idempotencyKey;
  }
  return { url, headers };
}

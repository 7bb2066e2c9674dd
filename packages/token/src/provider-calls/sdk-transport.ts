// The providers' SDK clients with their API calls sent through tokenService.fetch (the current
// token injected, the shared limits, one refresh on a 401, the retry rules), where the SDK lets
// its HTTP be replaced (docs/provider-calls.md, "SDK clients"):
// - xero-node: every API class (AccountingApi, PayrollUkApi, ...) calls the module's global axios
//   but first runs `authentications.default.applyToRequest(options)`, settable per instance with
//   setDefaultAuthentication: ours puts an axios `adapter` on the request options;
// - intuit-oauth: makeApiCall sends through the instance's own `axiosInstance`: its adapter is ours;
// - openid-client (generic providers): the Configuration's `customFetch`.
// The SDKs' token calls (refresh, revoke, Xero's connections) are not API calls and stay theirs.
import { Readable } from "node:stream";
import OAuthClient from "intuit-oauth";
import * as oidc from "openid-client";
import { XeroClient } from "xero-node";
import { TokenError } from "@tokenvault/vault";
import type { SdkClient } from "../providers/types";
import { ProviderCallError } from "./call-errors";
import type { ProviderFetchInit } from "./provider-client";

/** One API call through tokenService.fetch for the client's connection. */
export type SdkCall = (url: string, init: ProviderFetchInit) => Promise<Response>;

/** What axios hands an adapter (after its request transforms), as far as we read it. */
interface AxiosRequest {
  url?: string;
  baseURL?: string;
  method?: string;
  headers?: { toJSON?: () => Record<string, unknown> } & Record<string, unknown>;
  params?: Record<string, unknown> | URLSearchParams;
  data?: unknown;
  responseType?: string;
  validateStatus?: ((status: number) => boolean) | null;
  signal?: AbortSignal;
}

interface AxiosAnswer {
  data: unknown;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  config: AxiosRequest;
  request: object;
}

/** Sent by us, not taken from the SDK: its token may be older than the stored one. */
const OURS = new Set(["authorization", "content-length", "host"]);

function urlOf(config: AxiosRequest): string {
  const url = new URL(config.url ?? "", config.baseURL);
  const params = config.params instanceof URLSearchParams ? config.params : Object.entries(config.params ?? {});
  for (const [name, value] of params) {
    if (value === undefined || value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) url.searchParams.append(name, one instanceof Date ? one.toISOString() : String(one));
  }
  return url.href;
}

function headersOf(config: AxiosRequest): Record<string, string> {
  const raw = typeof config.headers?.toJSON === "function" ? config.headers.toJSON() : (config.headers ?? {});
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || value === null || value === false || OURS.has(name.toLowerCase())) continue;
    headers[name] = typeof value === "string" ? value : Array.isArray(value) ? value.join(", ") : JSON.stringify(value);
  }
  return headers;
}

function bodyOf(data: unknown): Pick<RequestInit, "body"> & { duplex?: "half" } {
  if (data === undefined || data === null) return {};
  if (typeof data === "string" || data instanceof Uint8Array || data instanceof ArrayBuffer || data instanceof URLSearchParams || data instanceof FormData || data instanceof Blob) return { body: data as RequestInit["body"] };
  // A file stream (attachments): sent once, never repeated (ProviderClient does not resend a stream).
  if (data instanceof Readable) return { body: Readable.toWeb(data) as ReadableStream, duplex: "half" };
  throw new TokenError("INVALID_INPUT", "The SDK gave a request body of a kind that cannot be sent.");
}

async function dataOf(response: Response, responseType: string | undefined): Promise<unknown> {
  const bytes = Buffer.from(await response.arrayBuffer());
  if (responseType === "arraybuffer") return bytes;
  if (responseType === "stream") return Readable.from(bytes);
  return bytes.toString("utf8"); // axios's own transform parses JSON for responseType "json"
}

/**
 * An axios adapter over `call`. A provider's error answer that fetch turns into a
 * ProviderCallError (after its retries and its refresh) is handed back to the SDK as that answer,
 * so the SDK reports it its usual way (xero-node rejects with the response, intuit-oauth throws its
 * OAuthError), with the ProviderCallError as the error's `cause`; a refusal here with no answer
 * (RATE_LIMITED by our limits, VAULT_UNAVAILABLE) is thrown as it is, and the SDK wraps it.
 */
export function axiosAdapter(call: SdkCall) {
  return async (config: AxiosRequest): Promise<AxiosAnswer> => {
    const headers = headersOf(config);
    const url = urlOf(config);
    // The SDK's idempotency key (Xero's Idempotency-Key header, QuickBooks' requestid) makes a POST repeatable.
    const key = Object.entries(headers).find(([name]) => name.toLowerCase() === "idempotency-key")?.[1] ?? new URL(url).searchParams.get("requestid") ?? undefined;
    const method = (config.method ?? "get").toUpperCase();
    // xero-node gives a GET the body "{}" (axios serializes its empty data); fetch refuses a GET with a body.
    const body = method === "GET" || method === "HEAD" ? {} : bodyOf(config.data);
    const init: ProviderFetchInit = { method, headers, ...body, ...(key && { idempotencyKey: key }), ...(config.signal && { signal: config.signal }) };
    let answer: AxiosAnswer;
    let cause: ProviderCallError | undefined;
    try {
      const response = await call(url, init);
      answer = { data: await dataOf(response, config.responseType), status: response.status, statusText: response.statusText, headers: Object.fromEntries(response.headers), config, request: {} };
    } catch (error) {
      if (!(error instanceof ProviderCallError) || !error.answer) throw error;
      cause = error;
      answer = { data: error.answer.body, status: error.answer.status, statusText: "", headers: {}, config, request: {} };
    }
    // What axios's own adapters do (settle): a status the request does not accept is an error carrying the response.
    if (!config.validateStatus || config.validateStatus(answer.status)) return answer;
    throw Object.assign(new Error(`Request failed with status code ${answer.status}`, { cause }), {
      isAxiosError: true,
      code: answer.status >= 500 ? "ERR_BAD_RESPONSE" : "ERR_BAD_REQUEST",
      config,
      response: answer,
    });
  };
}

/** Points the SDK client's API calls at `call`; the same instance, for chaining. */
export function routeSdkThrough<T extends SdkClient>(client: T, call: SdkCall): T {
  if (client instanceof XeroClient) {
    const auth = { applyToRequest: (options: Record<string, unknown>) => void (options.adapter = axiosAdapter(call)) };
    // Every API the client has (accountingApi, payrollUKApi, ...): each has its own authentications.
    for (const api of Object.values(client) as unknown[]) {
      const settable = api as { setDefaultAuthentication?: (a: typeof auth) => void } | null;
      if (settable && typeof settable.setDefaultAuthentication === "function") settable.setDefaultAuthentication(auth);
    }
  } else if (client instanceof OAuthClient) {
    (client as unknown as { axiosInstance: { defaults: { adapter: unknown } } }).axiosInstance.defaults.adapter = axiosAdapter(call);
  } else {
    client.configuration[oidc.customFetch] = (url, options) => call(url, { method: options.method, headers: options.headers, ...(options.body !== undefined && { body: options.body as RequestInit["body"] }), ...(options.signal && { signal: options.signal }) });
  }
  return client;
}

import type { RequestContext } from "./context";
import { json, type SimResponse } from "./http";
import { randomToken } from "./ids";
import type { Admission, LimitedProvider, Remaining } from "./limits";

/** Whose budget a call spends: the app (client id) and the organisation or company it names. */
export interface LimitedCall {
  provider: LimitedProvider;
  clientId: string;
  tenantId: string;
}

/** Xero reports what is left on every tenant-scoped response (developer.xero.com, OAuth 2.0 API limits). */
function xeroRemainingHeaders(remaining: Remaining): Record<string, string> {
  const headers: Record<string, string> = {};
  if (remaining.day !== undefined) headers["x-daylimit-remaining"] = String(remaining.day);
  if (remaining.minute !== undefined) headers["x-minlimit-remaining"] = String(remaining.minute);
  if (remaining.appMinute !== undefined) headers["x-appminlimit-remaining"] = String(remaining.appMinute);
  return headers;
}

/**
 * The 429 each provider sends. Xero: Retry-After and X-Rate-Limit-Problem are documented; the
 * body is not, so it is a problem document like Xero's other API errors and clients must not
 * depend on it. Intuit: the body is the XML fault QuickBooks answers with even to
 * `Accept: application/json` (beanworks/quickbooks-online-v3-sdk#6, routablehq/python-quickbooks#43,
 * ruckus/quickbooks-ruby#348: Fault type SERVICE, code 3001, "message=ThrottleExceeded;
 * errorCode=003001; statusCode=429"); Retry-After is sent too (intuit/QuickBooks-V3-PHP-SDK#184
 * asks the SDK to expose it), which is weaker evidence than Xero's.
 */
export function tooManyRequests(provider: LimitedProvider, refusal: Extract<Admission, { ok: false }>, now: number): SimResponse {
  const retryAfter = String(refusal.retryAfterSeconds);
  if (provider === "xero") {
    const detail = `Rate limit exceeded (${refusal.problem}); retry after ${retryAfter} seconds`;
    return json(
      429,
      { Type: null, Title: "Too Many Requests", Status: 429, Detail: detail, Instance: randomToken(8), Extensions: {} },
      { "retry-after": retryAfter, "x-rate-limit-problem": refusal.problem, ...xeroRemainingHeaders(refusal.remaining) },
    );
  }
  const body =
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n` +
    `<IntuitResponse time="${new Date(now).toISOString()}" xmlns="http://schema.intuit.com/finance/v3">` +
    `<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>` +
    `<Detail>The request limit was reached.  Try again later</Detail></Error></Fault></IntuitResponse>`;
  return { status: 429, headers: { "content-type": "application/xml", "retry-after": retryAfter }, body };
}

/**
 * Wraps an API handler (route marked manualFaults) with the provider's limits. `identify` names
 * the budget once the bearer token and tenant are known to be good; a call it cannot identify
 * (no or bad token, another tenant) is answered by the handler's 401/403 without spending any.
 * Faults run inside the admitted slot, so a latency fault makes calls overlap and the
 * concurrency limit reachable.
 */
export function limitedApi(identify: (ctx: RequestContext) => LimitedCall | undefined, handle: (ctx: RequestContext) => SimResponse | Promise<SimResponse>) {
  return async (ctx: RequestContext): Promise<SimResponse> => {
    const call = identify(ctx);
    if (!call) return (await ctx.applyFaults()) ?? handle(ctx);
    const admission = ctx.sim.limiter.admit(call.provider, call.clientId, call.tenantId);
    if (!admission.ok) return tooManyRequests(call.provider, admission, ctx.sim.clock.now());
    try {
      const response = (await ctx.applyFaults()) ?? (await handle(ctx));
      if (call.provider !== "xero") return response;
      return { ...response, headers: { ...xeroRemainingHeaders(admission.remaining), ...response.headers } };
    } finally {
      admission.release();
    }
  };
}

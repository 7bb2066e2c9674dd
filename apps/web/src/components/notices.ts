/**
 * The texts of banners named in a URL (?error=CODE). Only codes travel in links; unknown codes
 * get a generic text, so nobody can make the dashboard display words of their choosing.
 */
const NOTICES: Record<string, string> = {
  INVALID_STATE: "This sign-in response is not valid any more (used, expired or started elsewhere). Start the connection again.",
  AUTHORIZATION_DENIED: "Access was not granted on the provider's page.",
  REAUTH_REQUIRED: "The provider refused the authorization. Start the connection again.",
  PROVIDER_UNAVAILABLE: "The provider is not responding. Try again in a moment.",
  RATE_LIMITED: "The provider is rate limiting requests. Try again shortly.",
  UNKNOWN_PROVIDER: "This provider is not available.",
  CONFIGURATION: "The provider rejected Tokenvault's app credentials. An administrator must check the configuration.",
  SESSION_ENDED: "Your session ended during the connection. Sign in and connect again.",
  ADMIN_ONLY: "Only administrators can connect, reconnect or disconnect a provider.",
  BAD_CREDENTIALS: "Unknown user or wrong password.",
  TOO_MANY_ATTEMPTS: "Too many failed sign-ins. Wait a few minutes, then try again.",
  BAD_REQUEST: "Fill in the user and the password.",
};

export function noticeFor(code: string | undefined): string | null {
  if (!code) return null;
  // Own keys only: "toString" or "__proto__" would otherwise find Object.prototype's members,
  // which a page cannot render (a 500 from a crafted link).
  return Object.hasOwn(NOTICES, code) ? NOTICES[code]! : "The connection could not be completed. Try again.";
}

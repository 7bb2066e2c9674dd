/** An OAuth error answered by the provider, as openid-client 5 reported it: its `error` code and the HTTP status. */
export class OPError extends Error {
  constructor(
    readonly error: string,
    readonly error_description: string | undefined,
    readonly response: { statusCode: number } | undefined,
  ) {
    super(`${error}${error_description ? ` (${error_description})` : ""}`);
  }
}

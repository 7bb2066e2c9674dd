/** Absolute endpoint URLs for a simulator base URL, ready to hand to an SDK. */
export function intuitEndpoints(url: string) {
  const base = `${url}/intuit`;
  return {
    authorizeEndpoint: `${base}/connect/oauth2`,
    tokenEndpoint: `${base}/oauth2/v1/tokens/bearer`,
    revokeEndpoint: `${base}/oauth2/v1/tokens/revoke`,
    userInfoEndpoint: `${base}/v1/openid_connect/userinfo`,
    jwksUri: `${base}/op/v1/jwks`,
    /** Replaces https://quickbooks.api.intuit.com/ (keep the trailing slash). */
    apiBaseUrl: `${base}/`,
    companyInfo: (realmId: string) => `${base}/v3/company/${encodeURIComponent(realmId)}/companyinfo/${encodeURIComponent(realmId)}`,
  };
}

export function xeroEndpoints(url: string) {
  const issuer = `${url}/xero`;
  return {
    issuer,
    discovery: `${issuer}/.well-known/openid-configuration`,
    authorizeEndpoint: `${issuer}/identity/connect/authorize`,
    tokenEndpoint: `${issuer}/identity/connect/token`,
    revocationEndpoint: `${issuer}/identity/connect/revocation`,
    connections: `${issuer}/api/connections`,
    organisation: `${issuer}/api/api.xro/2.0/Organisation`,
  };
}

export function oidcEndpoints(url: string) {
  const issuer = `${url}/oidc`;
  return {
    issuer,
    discovery: `${issuer}/.well-known/openid-configuration`,
    authorizeEndpoint: `${issuer}/authorize`,
    tokenEndpoint: `${issuer}/token`,
    revocationEndpoint: `${issuer}/revoke`,
    userinfoEndpoint: `${issuer}/userinfo`,
    jwksUri: `${issuer}/jwks`,
  };
}

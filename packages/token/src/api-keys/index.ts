export { ApiKeys, apiKeyUserId, type ApiCall, type ApiKeyPrincipal, type ApiKeyView, type ApiKeysDeps } from "./api-keys";
export { CompanyConnections, type CompanyConnection, type ConnectionRef as CompanyConnectionRef } from "./company-connections";
export { API_KEY_SCOPES, isScope, type ApiKeyScope } from "./key-format";

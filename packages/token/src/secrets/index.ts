export { SecretStore, type SecretLocation, type SecretWrite } from "./secret-store";
export { keyHoldings, rotateKeys, type KeyHolding, type RotationReport } from "./rotation";
export { formatRotationReport } from "./rotation-report";
export { NONCE_LIMIT, WARN_AT, recordEncryptions } from "./key-usage";

export { SecretStore, type SecretLocation, type SecretWrite } from "./secret-store";
export { keyHoldings, rotateKeysWith, type KeyHolding, type Resealer, type ResealCount, type RotateKeysOptions, type RotationReport } from "./rotation";
export { formatRotationReport } from "./rotation-report";
export { NONCE_LIMIT, WARN_AT, recordEncryptions } from "./key-usage";

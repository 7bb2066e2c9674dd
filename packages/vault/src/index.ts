// @tokenvault/vault: sealing secrets at rest. Pure crypto, no database, no environment.
export { Vault, isSealable, type SealedSecret } from "./vault";
export type { VaultBinding } from "./associated-data";
export { createKeyRing, createVaultKey, decodeKeyMaterial, generateKeyMaterial, keyRingFromSettings, KEY_BYTES, type KeyRing, type VaultKey } from "./key-ring";
export { ENVELOPE_VERSION, MAX_PLAINTEXT_BYTES, envelopeKeyId, parseEnvelope } from "./envelope";
export { randomToken, sha256 } from "./random";
export { blindIndex, blindIndexes } from "./blind-index";
export { keyRingFromVariables, type KeyVariables } from "./key-settings";
export { TokenError, DecryptionError, KeyConfigError, TOKEN_ERROR_CODES, type TokenErrorCode, type DecryptionFailureReason } from "./errors";

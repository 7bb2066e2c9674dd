// `pnpm token:generate-key`: prints a fresh 32-byte vault key in both accepted encodings.
// The key goes to standard output only; nothing is written to disk.
import { generateKeyMaterial } from "../key-ring";

const key = generateKeyMaterial();
console.log(`TOKEN_ENCRYPTION_KEY (hex)    ${key.hex}`);
console.log(`TOKEN_ENCRYPTION_KEY (base64) ${key.base64}`);
console.log(`key id                        ${key.id}`);
console.log("\nEither encoding works. To rotate: move the current key into TOKEN_ENCRYPTION_KEYS_PREVIOUS,");
console.log("set this one as TOKEN_ENCRYPTION_KEY, then run `pnpm token:rotate-keys`.");

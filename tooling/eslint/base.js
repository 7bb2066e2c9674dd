import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

/**
 * Shared flat config for every package. Type-aware rules catch the mistakes that
 * matter in a token service: floating promises (a refresh nobody awaits) and
 * unsafe `any` flowing out of SDK responses.
 */
export default tseslint.config(
  { ignores: ["**/dist/**", "**/.next/**", "**/generated/**", "**/node_modules/**", "**/*.config.*", "**/.turbo/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read configuration through the package's env.ts." },
      ],
    },
  },
  {
    // env-reader.ts: the kit's reader, which hands process.env to every env.ts.
    files: ["**/env.ts", "src/env-reader.ts", "**/*.test.ts", "**/test/**", "**/scripts/**"],
    rules: { "no-restricted-properties": "off" },
  },
);

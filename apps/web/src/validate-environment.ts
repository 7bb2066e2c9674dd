import { storeSettingsFromEnv } from "@tokenvault/store";
import { validateTokenEnvironment } from "@tokenvault/token";
import { webEnv } from "./env";

/**
 * Every setting of the web app, the token service and the token store, checked at start-up. Next only logs an
 * error thrown by the instrumentation hook and keeps serving 500s, so a bad setting exits here.
 */
export function validateEnvironment(): void {
  try {
    const env = webEnv();
    validateTokenEnvironment();
    // Sessions and rate limits live in the token store TOKEN_STORE names.
    storeSettingsFromEnv();
    if (env.demoUsers && !env.development) {
      console.warn(
        "Tokenvault: TOKENVAULT_DEMO_USERS=1 outside development. The seeded demo users, whose password is published, can sign in as administrators. Never enable this on a deployment people rely on.",
      );
    }
  } catch (error) {
    // The messages name variables, never their values.
    console.error(`Tokenvault cannot start: ${error instanceof Error ? error.message : "invalid configuration"}`);
    process.exit(1);
  }
}

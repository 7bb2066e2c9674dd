// Runs once when the server starts: a bad setting stops the process here, with the variable
// named, instead of failing a request later.
export async function register(): Promise<void> {
  // The literal comparison lets Next drop the Node-only import from the Edge bundle.
  // eslint-disable-next-line no-restricted-properties
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { validateEnvironment } = await import("./validate-environment");
    validateEnvironment();
  }
}

import { DEFAULT_CLIENTS } from "./clients";
import { simulatorEnv } from "./env";
import { startSimulator } from "./server";

/** `pnpm simulator`: runs the providers on SIMULATOR_PORT (default 4010) until interrupted. */
const { port, host } = simulatorEnv();
const sim = await startSimulator({ port, host });
const lines = [
  `OAuth simulator listening on ${sim.url}`,
  "",
  `  Intuit  authorize ${sim.url}/intuit/connect/oauth2   token ${sim.url}/intuit/oauth2/v1/tokens/bearer`,
  `          client_id=${DEFAULT_CLIENTS.intuit.clientId} client_secret=${DEFAULT_CLIENTS.intuit.clientSecret}`,
  `  Xero    issuer    ${sim.url}/xero (discovery at /xero/.well-known/openid-configuration)`,
  `          client_id=${DEFAULT_CLIENTS.xero.clientId} client_secret=${DEFAULT_CLIENTS.xero.clientSecret}`,
  `  OIDC    issuer    ${sim.url}/oidc (PKCE S256 required)`,
  `          client_id=${DEFAULT_CLIENTS.oidc.clientId} client_secret=${DEFAULT_CLIENTS.oidc.clientSecret}`,
  "",
  `  Dev clients accept any redirect_uri on localhost or 127.0.0.1. Control API: ${sim.url}/__sim/stats, /__sim/grants, ...`,
];
console.log(lines.join("\n"));

const stop = () => {
  sim.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);

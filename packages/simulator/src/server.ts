import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { ClientRegistry, type Provider } from "./clients";
import { SimClock } from "./clock";
import { defaultSettings, faultResponse, type RequestContext, type SimState } from "./context";
import { LocalControl, type SimulatorControl } from "./control";
import { controlRoutes } from "./control-routes";
import { FaultRegistry } from "./faults";
import { HttpError, json, oauthError, type SimResponse } from "./http";
import { uuid } from "./ids";
import { intuitRoutes } from "./intuit";
import { SigningKeys } from "./keys";
import { tooManyRequests } from "./limited-api";
import { ApiLimiter, patchLimits, realLimits, type LimitsPatch } from "./limits";
import { oidcRoutes } from "./oidc";
import { Router } from "./router";
import { Store } from "./state";
import { UPSTASH_PATH, UpstashEndpoint, type UpstashCredentials, type UpstashOptions } from "./upstash";
import { xeroRoutes } from "./xero";

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Refresh-token reuse detection from the start (also settable later). */
  strict?: boolean;
  /** Base time source in epoch ms; the control API's clock moves relative to it. */
  now?: () => number;
  /** API rate limits from the start, over the providers' real ones (also settable later, and what reset() restores). */
  limits?: LimitsPatch;
  /** Serve an Upstash-REST-compatible endpoint at /upstash, forwarding to this Redis (off when absent). */
  upstash?: UpstashOptions;
}

export interface Simulator extends SimulatorControl {
  /** e.g. http://127.0.0.1:4010, no trailing slash. */
  readonly url: string;
  /** The Upstash endpoint's URL and token, when `upstash` was given. */
  readonly upstash?: UpstashCredentials;
  close(): Promise<void>;
}

function makeUsers(): SimState["users"] {
  const user = (email: string) => ({ sub: uuid(), email, givenName: "Dev", familyName: "User" });
  return { intuit: user("dev.intuit@tokenvault.test"), xero: user("dev.xero@tokenvault.test"), oidc: user("dev.oidc@tokenvault.test") } satisfies Record<Provider, unknown>;
}

function send(res: ServerResponse, response: SimResponse): void {
  res.writeHead(response.status, response.headers ?? {});
  res.end(response.body ?? "");
}

async function dispatch(router: Router, state: SimState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", state.baseUrl);
  const method = req.method ?? "GET";
  let match;
  try {
    match = router.match(method, url.pathname);
  } catch {
    return send(res, oauthError(400, "invalid_request", "malformed path"));
  }
  if (!match) return send(res, json(404, { error: "not_found", error_description: `no endpoint at ${method} ${url.pathname}` }));
  if ("allowed" in match) return send(res, json(405, { error: "method_not_allowed", error_description: `use ${match.allowed.join(" or ")}` }, { allow: match.allowed.join(", ") }));

  const { route, params } = match;
  let faultsTaken = false;
  const ctx: RequestContext = {
    req,
    url,
    params,
    sim: state,
    provider: route.provider,
    endpoint: route.endpoint ?? "api",
    drop: false,
    faulted: false,
    async applyFaults(target = {}) {
      if (faultsTaken || route.endpoint === undefined) return undefined;
      faultsTaken = true;
      const outcome = state.faults.take({ provider: route.provider, endpoint: route.endpoint, ...target });
      if (outcome.applied.length > 0 && route.provider) state.store.count(route.provider, "faultsInjected");
      if (outcome.latencyMs > 0) await sleep(outcome.latencyMs);
      const terminal = outcome.terminal;
      if (terminal?.kind === "drop") ctx.drop = true;
      else if (terminal) {
        ctx.faulted = true;
        // An API 429 looks like the provider's own (headers, body), so clients parse injected and enforced limits alike.
        if (terminal.kind === "rate_limit" && route.endpoint === "api" && (route.provider === "xero" || route.provider === "intuit")) {
          const refusal = { ok: false as const, problem: terminal.problem ?? "minute", retryAfterSeconds: terminal.retryAfterSeconds ?? 30, remaining: {} };
          return tooManyRequests(route.provider, refusal, state.clock.now());
        }
        return faultResponse(terminal.kind === "rate_limit" ? "rate_limit" : "error", terminal.status, terminal.retryAfterSeconds);
      }
      return undefined;
    },
  };

  let response: SimResponse;
  try {
    const early = route.manualFaults ? undefined : await ctx.applyFaults();
    response = early ?? (await route.handle(ctx));
  } catch (error) {
    if (error instanceof HttpError) response = oauthError(error.status, error.error, error.description);
    else {
      // Never leak a stack trace; the operator sees it on stderr.
      console.error("[simulator] internal error", error);
      response = oauthError(500, "server_error", "internal simulator error");
    }
  }
  if (ctx.drop) {
    // The work (e.g. a token rotation) is committed; the client never hears about it.
    if (route.provider) state.store.count(route.provider, "droppedResponses");
    req.socket.destroy();
    return;
  }
  send(res, response);
}

/** Starts the simulator on a real port. Call close() when done. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? "127.0.0.1";
  const keys = await SigningKeys.generate();
  const clock = new SimClock(options.now);
  const initialLimits = patchLimits(realLimits(), options.limits ?? {});
  const state: SimState = {
    baseUrl: "",
    clock,
    clients: new ClientRegistry(),
    store: new Store(),
    faults: new FaultRegistry(),
    keys,
    settings: defaultSettings(options.strict ?? false),
    users: makeUsers(),
    initialStrict: options.strict ?? false,
    limiter: new ApiLimiter(() => clock.now(), structuredClone(initialLimits)),
    initialLimits,
  };
  const control = new LocalControl(state);
  const router = new Router().add(...controlRoutes(control), ...intuitRoutes, ...xeroRoutes, ...oidcRoutes);
  // Connected before listening: a Redis that cannot be reached fails the start, not a later request.
  const upstash = options.upstash ? await UpstashEndpoint.start(options.upstash) : undefined;
  if (upstash) router.add(...upstash.routes());

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    dispatch(router, state, req, res).catch((error: unknown) => {
      console.error("[simulator] failed to answer", error);
      if (!res.headersSent) send(res, oauthError(500, "server_error", "internal simulator error"));
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await upstash?.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  // A wildcard bind is still reached through loopback; IPv6 literals need brackets.
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  state.baseUrl = `http://${shownHost}:${port}`;

  const close = async () => {
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      for (const socket of sockets) socket.destroy();
    });
    await upstash?.close();
  };

  // Bind every control method so the object can be destructured or passed around.
  const simulator: Simulator = {
    url: state.baseUrl,
    upstash: options.upstash ? { url: `${state.baseUrl}${UPSTASH_PATH}`, token: options.upstash.token } : undefined,
    close,
    clock: () => control.clock(),
    advanceClock: (ms) => control.advanceClock(ms),
    setClock: (ms) => control.setClock(ms),
    registerClient: (input) => control.registerClient(input),
    listClients: () => control.listClients(),
    getSettings: () => control.getSettings(),
    updateSettings: (patch) => control.updateSettings(patch),
    addFault: (spec) => control.addFault(spec),
    listFaults: () => control.listFaults(),
    removeFault: (id) => control.removeFault(id),
    clearFaults: () => control.clearFaults(),
    listGrants: (filter) => control.listGrants(filter),
    getGrant: (id) => control.getGrant(id),
    revokeGrant: (id) => control.revokeGrant(id),
    revokeGrants: (selector) => control.revokeGrants(selector),
    revokeAccessTokens: (id) => control.revokeAccessTokens(id),
    mintGrants: (input) => control.mintGrants(input),
    getLimits: () => control.getLimits(),
    updateLimits: (patch) => control.updateLimits(patch),
    apiUsage: (filter) => control.apiUsage(filter),
    stats: () => control.stats(),
    reset: () => control.reset(),
  };
  return simulator;
}

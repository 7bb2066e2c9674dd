// Signed-in clients of the production web server under `pnpm soak`: loops on connection.list
// (GET) and connection.check (POST: getValidToken and a live provider call), each call's outcome
// in a PhaseLedger: "ok", "<status> <tRPC code>[ <token error code>]" for a typed error answer,
// "UNTYPED ..." for anything else (a 500, an answer that is not a tRPC error, a cut connection, no
// answer within 30 s).
import { PhaseLedger } from "./ledger";

const CALL_TIMEOUT_MS = 30_000;

type TrpcError = { error?: { json?: { data?: { code?: string; tokenErrorCode?: string; httpStatus?: number } } } };

async function outcomeOf(response: Response): Promise<string> {
  if (response.status === 200) {
    await response.arrayBuffer();
    return "ok";
  }
  const text = await response.text();
  let data: NonNullable<NonNullable<TrpcError["error"]>["json"]>["data"];
  try {
    data = (JSON.parse(text) as TrpcError).error?.json?.data;
  } catch {
    data = undefined;
  }
  if (!data?.code || response.status >= 500 && response.status !== 503) return `UNTYPED http ${response.status}`;
  return [response.status, data.code, data.tokenErrorCode].filter(Boolean).join(" ");
}

export interface WebLoad {
  list: PhaseLedger;
  check: PhaseLedger;
  stop(): Promise<void>;
}

/** `clients` loops per kind, alternating between the signed-in `cookies`, until stop(). */
export function startWebLoad(url: string, cookies: string[], clients: { list: number; check: number }, checkBody: string): WebLoad {
  const ledgers = { list: new PhaseLedger(), check: new PhaseLedger() };
  let running = true;
  const loop = async (kind: "list" | "check", n: number) => {
    const headers = { cookie: cookies[n % cookies.length]!, "content-type": "application/json" };
    while (running) {
      const started = Date.now();
      let outcome: string;
      try {
        const response =
          kind === "list"
            ? await fetch(`${url}/api/trpc/connection.list`, { headers, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })
            : await fetch(`${url}/api/trpc/connection.check`, { method: "POST", headers, body: checkBody, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
        outcome = await outcomeOf(response);
      } catch (error) {
        outcome = `UNTYPED fetch ${error instanceof Error ? error.name : typeof error}`;
      }
      ledgers[kind].record(outcome, started);
      // Checks go at a person's pace (each one is a live provider call); lists as fast as answered.
      await new Promise((resolve) => setTimeout(resolve, kind === "check" ? 500 : outcome === "ok" ? 0 : 50));
    }
  };
  const loops = [...Array.from({ length: clients.list }, (_, n) => loop("list", n)), ...Array.from({ length: clients.check }, (_, n) => loop("check", n))];
  return {
    ...ledgers,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

import { headers } from "next/headers";
import { createCaller } from "~/server/api/root";
import { pageContextDeps } from "~/server/api/services";
import { createContext } from "~/server/api/trpc";

/** The routers, called from server components and server code with the current request's caller. */
export async function serverApi() {
  return createCaller(await createContext(pageContextDeps, { headers: await headers() }));
}

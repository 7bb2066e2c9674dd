import { getDatabase } from "@tokenvault/db";
import { TokenService } from "./token-service";

export { TokenService, type TokenServiceDeps, type ConnectionHealthView } from "./token-service";
export { systemClock, type Clock } from "./clock";

/** The wired default: the process-wide database and the system clock. */
export const tokenService = new TokenService({
  prisma: async () => (await getDatabase()).prisma,
});

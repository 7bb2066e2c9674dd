import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { protectedProcedure } from "../trpc";
import { providerInfo } from "./schemas";

/** The providers this deployment offers (QuickBooks, Xero, configured OIDC providers): the UI lists them from here. */
export const providerRouter = {
  list: protectedProcedure.output(z.array(providerInfo)).query(({ ctx }) => ctx.tokenService.listProviders()),
} satisfies TRPCRouterRecord;

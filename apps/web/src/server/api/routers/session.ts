import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { SessionsEnded } from "@tokenvault/token/audit";
import { describeUserAgent } from "../../auth/user-agent";
import { adminProcedure, protectedProcedure, type AuthorizedContext } from "../trpc";
import { plainText } from "./schemas";

const handle = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "Unknown session.");
const userId = plainText.min(1).max(256);

const sessionRow = z.object({ handle: z.string(), createdAt: z.date(), lastSeenAt: z.date(), browser: z.string(), current: z.boolean() });

function admin(ctx: AuthorizedContext) {
  if (!ctx.sessionAdmin) throw new TRPCError({ code: "PRECONDITION_FAILED", message: "Sessions are managed by the host application." });
  return ctx.sessionAdmin;
}

async function audit(ctx: AuthorizedContext, ended: Omit<SessionsEnded, "endpoint">, endpoint: string) {
  if (ended.sessions > 0) await ctx.tokenService.recordSessionsEnded(ctx.caller.companyId, ctx.requestContext, { ...ended, endpoint });
}

/** The caller's own sign-in sessions, and an administrator's control over their company's members'. */
export const sessionRouter = {
  list: protectedProcedure.output(z.array(sessionRow)).query(async ({ ctx }) => {
    const sessions = await admin(ctx).sessions.list(ctx.caller.userId);
    return sessions.map((s) => ({ handle: s.handle, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt, browser: describeUserAgent(s.userAgent), current: s.handle === ctx.caller.sessionHandle }));
  }),

  end: protectedProcedure
    .input(z.object({ handle }))
    .output(z.object({ signedOut: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const ended = await admin(ctx).sessions.endByHandle(ctx.caller.userId, input.handle);
      if (!ended) throw new TRPCError({ code: "NOT_FOUND", message: "This session has already ended." });
      await audit(ctx, { scope: "one", targetUserId: ctx.caller.userId, sessions: 1 }, "session.end");
      return { signedOut: input.handle === ctx.caller.sessionHandle };
    }),

  endAll: protectedProcedure.output(z.object({ ended: z.number() })).mutation(async ({ ctx }) => {
    const ended = await admin(ctx).sessions.endAll(ctx.caller.userId);
    await audit(ctx, { scope: "all", targetUserId: ctx.caller.userId, sessions: ended.length }, "session.endAll");
    return { ended: ended.length };
  }),

  members: adminProcedure.output(z.array(z.object({ userId: z.string(), name: z.string(), role: z.string(), sessions: z.number() }))).query(async ({ ctx }) => {
    const { sessions, members } = admin(ctx);
    const others = members(ctx.caller.companyId).filter((m) => m.userId !== ctx.caller.userId);
    return Promise.all(others.map(async (m) => ({ userId: m.userId, name: m.name, role: m.role, sessions: (await sessions.list(m.userId)).length })));
  }),

  endMember: adminProcedure
    .input(z.object({ userId }))
    .output(z.object({ ended: z.number() }))
    .mutation(async ({ ctx, input }) => {
      const { sessions, members } = admin(ctx);
      // Another company's user is not found, exactly like an unknown one.
      if (!members(ctx.caller.companyId).some((m) => m.userId === input.userId)) throw new TRPCError({ code: "NOT_FOUND", message: "No such member of your company." });
      const ended = await sessions.endAll(input.userId);
      await audit(ctx, { scope: "member", targetUserId: input.userId, sessions: ended.length }, "session.endMember");
      return { ended: ended.length };
    }),
};

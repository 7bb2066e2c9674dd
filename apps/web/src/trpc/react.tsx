"use client";

import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { useState, type ReactNode } from "react";
import superjson from "superjson";
import type { AppRouter } from "~/server/api/root";
import { MAX_BATCH_SIZE } from "./shared";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

function errorData(error: unknown): { code?: string; httpStatus?: number } | undefined {
  return error instanceof TRPCClientError ? (error.data as { code?: string; httpStatus?: number } | undefined) : undefined;
}

/** The session ended (expired, signed out elsewhere): go to sign-in instead of showing a dead end. */
function onError(error: unknown) {
  if (errorData(error)?.code === "UNAUTHORIZED") window.location.assign("/sign-in");
}

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: { queries: { staleTime: 5_000, retry: (count, error) => count < 1 && (errorData(error)?.httpStatus ?? 500) >= 500 } },
        queryCache: new QueryCache({ onError }),
        mutationCache: new MutationCache({ onError }),
      }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: "/api/trpc", transformer: superjson, maxItems: MAX_BATCH_SIZE })] }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}

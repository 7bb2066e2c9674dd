"use client";

import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "~/trpc/react";
import { callBudgetLine } from "./format";

/**
 * A connection's provider call budgets as the shared limits count them (every process of the
 * deployment): "Xero daily calls: 4,800 / 5,000 used", a warning from 90 %, so an administrator
 * sees an organisation about to be refused for the rest of its day before it is.
 */
export function CallBudgets({ provider, connectionId, displayName }: { provider: string; connectionId: string | null; displayName: string }) {
  const trpc = useTRPC();
  const budgets = useQuery(trpc.connection.budgets.queryOptions(connectionId ? { provider, connectionId } : { provider }, { refetchInterval: 30_000 }));
  if (budgets.isError) return <p className="muted">Call budgets could not be read: {budgets.error.message}</p>;
  if (!budgets.data || budgets.data.length === 0) return null;
  return (
    <ul className="budgets" data-testid={`budgets-${provider}`}>
      {budgets.data.map((budget) => {
        const line = callBudgetLine(displayName, budget);
        return (
          <li key={budget.name} data-budget={budget.name} className={line.nearlySpent ? "error-text" : "muted"}>
            {line.text}
            {line.nearlySpent && <span className="badge warn"> nearly spent</span>}
          </li>
        );
      })}
    </ul>
  );
}

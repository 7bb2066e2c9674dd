"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "~/trpc/react";
import { AUDIT_ACTIONS } from "~/audit-actions";

type Action = (typeof AUDIT_ACTIONS)[number];

interface Filters {
  connectionType: string;
  action: "" | Action;
  outcome: "" | "SUCCESS" | "FAILURE";
  userId: string;
  from: string;
  to: string;
}

const EMPTY: Filters = { connectionType: "", action: "", outcome: "", userId: "", from: "", to: "" };

export function AuditTable() {
  const trpc = useTRPC();
  const [filters, setFilters] = useState<Filters>(EMPTY);
  // Cursors of the pages before the current one: "Newer" pops, "Older" pushes.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const input = {
    connectionType: filters.connectionType || undefined,
    action: filters.action || undefined,
    outcome: filters.outcome || undefined,
    userId: filters.userId.trim() || undefined,
    from: filters.from ? new Date(filters.from) : undefined,
    to: filters.to ? new Date(filters.to) : undefined,
    cursor,
    limit: 25,
  };
  const page = useQuery(trpc.audit.list.queryOptions(input, { placeholderData: keepPreviousData, refetchInterval: 30_000 }));
  // The deployment's providers, configured OpenID Connect ones included.
  const providers = useQuery(trpc.provider.list.queryOptions(undefined, { staleTime: Infinity }));
  const update = (patch: Partial<Filters>) => {
    setFilters((f) => ({ ...f, ...patch }));
    setCursors([null]);
  };
  const exportQuery = new URLSearchParams(
    Object.entries({ connectionType: input.connectionType, action: input.action, outcome: input.outcome, userId: input.userId, from: input.from?.toISOString(), to: input.to?.toISOString() }).filter(
      (e): e is [string, string] => typeof e[1] === "string",
    ),
  ).toString();

  return (
    <>
      <form className="filters card" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <label>
          Connection
          <select value={filters.connectionType} onChange={(e) => update({ connectionType: e.target.value })}>
            <option value="">All</option>
            {providers.data?.map((p) => (
              <option key={p.id} value={p.id}>
                {p.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          Action
          <select value={filters.action} onChange={(e) => update({ action: e.target.value as Filters["action"] })}>
            <option value="">All</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a.replace("_", " ").toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label>
          Outcome
          <select value={filters.outcome} onChange={(e) => update({ outcome: e.target.value as Filters["outcome"] })}>
            <option value="">All</option>
            <option value="SUCCESS">Success</option>
            <option value="FAILURE">Failure</option>
          </select>
        </label>
        <label>
          User
          <input value={filters.userId} onChange={(e) => update({ userId: e.target.value })} placeholder="user id" />
        </label>
        <label>
          From
          <input type="datetime-local" value={filters.from} onChange={(e) => update({ from: e.target.value })} />
        </label>
        <label>
          To
          <input type="datetime-local" value={filters.to} onChange={(e) => update({ to: e.target.value })} />
        </label>
        <a className="button" href={`/api/audit/export${exportQuery ? `?${exportQuery}` : ""}`} download>
          Export CSV
        </a>
      </form>

      {page.isPending ? (
        <p aria-busy="true" className="card muted">Loading the audit log…</p>
      ) : page.isError ? (
        <p role="alert" className="banner bad">The audit log could not be loaded: {page.error.message}</p>
      ) : page.data.items.length === 0 ? (
        <p className="card muted">No audit entries match these filters.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Audit log entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">User</th>
                <th scope="col">Action</th>
                <th scope="col">Connection</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Method</th>
                <th scope="col">Status</th>
                <th scope="col">Time (ms)</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((row) => (
                <tr key={row.id} data-action={row.action} data-outcome={row.outcome}>
                  <td>{row.timestamp.toLocaleString()}</td>
                  <td>{row.userId}</td>
                  <td>
                    <span className={`badge ${row.outcome === "SUCCESS" ? "ok" : "bad"}`}>{row.action.toLowerCase()}</span>
                  </td>
                  <td>{row.connectionType}</td>
                  <td className="mono">{row.apiEndpoint}</td>
                  <td>{row.requestMethod}</td>
                  <td>{row.responseStatus}</td>
                  <td>{row.responseTime ?? "—"}</td>
                  <td className="error-text">{row.errorMessage ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="pager">
        <button type="button" disabled={cursors.length <= 1 || page.isPlaceholderData} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Newer
        </button>
        {/* While a page loads, the previous one stays on screen: its cursor must not be pushed twice. */}
        <button type="button" disabled={!page.data?.nextCursor || page.isPlaceholderData} onClick={() => page.data?.nextCursor && setCursors((c) => [...c, page.data.nextCursor])}>
          {page.isPlaceholderData ? "Loading…" : "Older"}
        </button>
      </div>
    </>
  );
}

"use client";

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTRPC } from "~/trpc/react";
import { NoticeBanner, useNotice, type Notice } from "./board-parts";
import { CallBudgets } from "./call-budgets";
import { ConnectionControls } from "./connection-controls";
import { ConnectionHistoryChart } from "./connection-history-chart";
import { ExtraScopes } from "./extra-scopes";
import { connectionBadge, credentialExpiry, nextRefresh, relative } from "./format";
import { GroupHeader, Pager, SearchBox, useSearch } from "./connection-groups";

/** Cards per provider and page: a company may hold a thousand connections of one provider. */
const PAGE_SIZE = 12;

export function ConnectionsBoard({ isAdmin, initialNotice }: { isAdmin: boolean; initialNotice: Notice | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // The outcome of a connect arrives in the URL; it shows once, then the next action replaces it.
  const { notice, setNotice, onError, said } = useNotice(initialNotice);
  // Disconnecting revokes at the provider and takes consent to undo: it asks first.
  const [confirmingDisconnect, setConfirmingDisconnect] = useState<string | null>(null);
  useEffect(() => {
    if (window.location.search) window.history.replaceState(null, "", window.location.pathname);
  }, []);
  // Each provider's group pages on its own (offsets by provider); the search applies to every group.
  const [offsets, setOffsets] = useState<Record<string, number>>({});
  const search = useSearch(() => setOffsets({}));
  const list = useQuery(
    trpc.connection.page.queryOptions({ search: search.applied || undefined, offsets, limit: PAGE_SIZE }, { placeholderData: keepPreviousData, refetchInterval: 15_000 }),
  );
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.connection.page.queryKey() });

  const connect = useMutation(trpc.connection.connect.mutationOptions({ onSuccess: ({ url }) => window.location.assign(url), onError }));
  // The extra scopes ticked per connect button (a reconnect starts from the connection's own extras).
  const providers = useQuery(trpc.provider.list.queryOptions(undefined, { enabled: isAdmin, staleTime: Infinity }));
  const [ticked, setTicked] = useState<Record<string, string[]>>({});
  const optionalOf = (provider: string) => providers.data?.find((p) => p.id === provider)?.optionalScopes ?? [];
  const extrasOf = (key: string, provider: string, requested: readonly string[] = []) => ticked[key] ?? requested.filter((s) => optionalOf(provider).includes(s));
  const connectWith = (provider: string, scopes: string[]) => connect.mutate({ provider, ...(scopes.length > 0 ? { scopes } : {}) });
  const scopePicker = (key: string, provider: string, requested?: readonly string[]) => (
    <ExtraScopes id={key} optional={optionalOf(provider)} chosen={extrasOf(key, provider, requested)} onChange={(next) => setTicked((t) => ({ ...t, [key]: next }))} />
  );
  const check = useMutation(
    trpc.connection.check.mutationOptions({
      onSuccess: (health) => setNotice(health.status === "HEALTHY" ? { tone: "ok", text: "Check passed: the connection works." } : { tone: "bad", text: health.errorMessage ?? "The check failed." }),
      onError,
      onSettled: invalidate,
    }),
  );
  const refresh = useMutation(trpc.connection.refresh.mutationOptions({ onSuccess: said("Token refreshed."), onError, onSettled: invalidate }));
  const disconnect = useMutation(trpc.connection.disconnect.mutationOptions({ onSuccess: said("Disconnected."), onError, onSettled: invalidate }));

  if (list.isPending) return <p aria-busy="true" className="card muted">Loading connections…</p>;
  if (list.isError) return <p role="alert" className="banner bad">Connections could not be loaded: {list.error.message}</p>;
  if (list.data.length === 0) return <p className="card muted">No provider is configured for this deployment.</p>;

  // Several connections of one provider each have their card: an action names its connection by id.
  const busy = (c: { provider: string; connectionId: string | null }, m: { isPending: boolean; variables?: { provider: string; connectionId?: string } }) =>
    m.isPending && m.variables?.provider === c.provider && (m.variables.connectionId === undefined || m.variables.connectionId === c.connectionId);
  const one = (c: { provider: string; connectionId: string | null }) => (c.connectionId ? { provider: c.provider, connectionId: c.connectionId } : { provider: c.provider });

  return (
    <>
      <NoticeBanner notice={notice} />
      <SearchBox search={search} />
      {list.data.map((group) => (
        <section key={group.provider} className="provider-group" aria-labelledby={`group-${group.provider}`} data-group={group.provider}>
          <GroupHeader group={group} search={search.applied}>
            {isAdmin && group.count > 0 && (
              <>
                <button type="button" disabled={busy({ provider: group.provider, connectionId: null }, connect)} onClick={() => connectWith(group.provider, extrasOf(`new-${group.provider}`, group.provider))}>
                  Connect another
                </button>
                {scopePicker(`new-${group.provider}`, group.provider)}
              </>
            )}
          </GroupHeader>
      <div className="cards">
        {group.connections.map((c) => {
          const badge = connectionBadge(c);
          const error = c.health?.errorMessage ?? (c.status === "EXPIRED" || c.status === "ERROR" ? c.message : null);
          return (
            <section key={c.connectionId ?? c.provider} className="card connection" aria-labelledby={`title-${c.provider}`} data-provider={c.provider}>
              <header>
                <h2 id={`title-${c.provider}`}>{c.displayName}</h2>
                <span className={`badge ${badge.tone}`} data-testid={`status-${c.provider}`}>
                  {badge.label}
                </span>
                {c.connected && c.reconnectBefore && (
                  <span className="badge warn" data-testid={`reconnect-before-${c.provider}`}>
                    Reconnect before {c.reconnectBefore.toISOString().slice(0, 10)}
                  </span>
                )}
              </header>
              {c.connected ? (
                <dl>
                  {c.externalId && (
                    <>
                      <dt>{c.tenants.length > 0 ? "Organisation" : "Account"}</dt>
                      <dd>{c.tenants.find((t) => t.id === c.externalId)?.name ?? c.externalId}</dd>
                    </>
                  )}
                  <dt>Access token</dt>
                  <dd data-testid={`access-expiry-${c.provider}`}>
                    {credentialExpiry(c.accessTokenExpiresAt, { ended: badge.tone === "bad", endedText: "no longer valid", renewable: true })}
                  </dd>
                  <dt>Authorization (idle expiry)</dt>
                  <dd data-testid={`idle-expiry-${c.provider}`}>{credentialExpiry(c.refreshTokenExpiresAt, { ended: badge.tone === "bad", endedText: "ended: reconnect to restore", renewable: false })}</dd>
                  {c.refreshTokenHardExpiresAt && (
                    <>
                      <dt>Hard expiry</dt>
                      <dd data-testid={`hard-expiry-${c.provider}`}>{c.refreshTokenHardExpiresAt.toISOString().slice(0, 10)}</dd>
                    </>
                  )}
                  <dt>Last refreshed</dt>
                  <dd>{relative(c.lastRefreshedAt)}</dd>
                  <dt>Next scheduled refresh</dt>
                  <dd data-testid={`next-refresh-${c.provider}`}>{c.disabled ? "none while paused" : nextRefresh(c.nextRefreshAt, badge.tone === "bad")}</dd>
                  {(c.failureStreakDays > 0 || c.exhausted) && (
                    <>
                      <dt>Background refresh</dt>
                      <dd className="error-text" data-testid={`failure-streak-${c.provider}`}>
                        {c.exhausted
                          ? `stopped after ${c.failureStreakDays} failing days: reconnect or refresh to resume`
                          : `failing for ${c.failureStreakDays} day${c.failureStreakDays === 1 ? "" : "s"}`}
                      </dd>
                    </>
                  )}
                  <dt>Last checked</dt>
                  <dd>{relative(c.health?.lastChecked)}</dd>
                  {error && (
                    <>
                      <dt>Last error</dt>
                      <dd className="error-text" data-testid={`error-${c.provider}`}>
                        {error}
                      </dd>
                    </>
                  )}
                </dl>
              ) : (
                <p className="muted">
                  {isAdmin ? `Connect ${c.displayName} to let Tokenvault keep its tokens valid.` : `An administrator can connect ${c.displayName}.`}
                </p>
              )}
              {c.connected && <ConnectionControls c={c} isAdmin={isAdmin} notify={setNotice} changed={invalidate} />}
              {c.connected && <CallBudgets provider={c.provider} connectionId={c.connectionId} displayName={c.displayName} />}
              {c.connected && <ConnectionHistoryChart provider={c.provider} connectionId={c.connectionId} />}
              {!isAdmin && c.connected && badge.tone === "bad" && <p className="muted">An administrator can reconnect it.</p>}
              {/* Connect, Reconnect and Disconnect are administrators' actions (the API refuses members too). */}
              <div className="actions">
                {isAdmin && (!c.connected || badge.tone === "bad") && (
                  <>
                    <button type="button" className="primary" disabled={busy(c, connect)} onClick={() => connectWith(c.provider, extrasOf(c.connectionId ?? c.provider, c.provider, c.requestedScopes))}>
                      {busy(c, connect) ? "Redirecting…" : c.connected ? "Reconnect" : "Connect"}
                    </button>
                    {scopePicker(c.connectionId ?? c.provider, c.provider, c.requestedScopes)}
                  </>
                )}
                {c.connected && (
                  <>
                    <button type="button" disabled={busy(c, check)} onClick={() => check.mutate(one(c))}>
                      {busy(c, check) ? "Checking…" : "Check"}
                    </button>
                    {isAdmin && badge.tone !== "bad" && !c.disabled && (
                      <button type="button" disabled={busy(c, refresh)} onClick={() => refresh.mutate(one(c))}>
                        {busy(c, refresh) ? "Refreshing…" : "Refresh now"}
                      </button>
                    )}
                    {isAdmin && confirmingDisconnect !== (c.connectionId ?? c.provider) && (
                      <button type="button" className="danger" disabled={busy(c, disconnect)} onClick={() => setConfirmingDisconnect(c.connectionId ?? c.provider)}>
                        {busy(c, disconnect) ? "Disconnecting…" : "Disconnect"}
                      </button>
                    )}
                  </>
                )}
              </div>
              {confirmingDisconnect === (c.connectionId ?? c.provider) && (
                <div role="alertdialog" aria-labelledby={`confirm-${c.provider}`} className="confirm">
                  <p id={`confirm-${c.provider}`}>
                    Disconnect {c.displayName}? Tokenvault revokes its access at {c.displayName}; connecting again needs consent at {c.displayName}.
                  </p>
                  <div className="actions">
                    <button
                      type="button"
                      className="danger"
                      onClick={() => {
                        setConfirmingDisconnect(null);
                        disconnect.mutate(one(c));
                      }}
                    >
                      Yes, disconnect
                    </button>
                    <button type="button" autoFocus onClick={() => setConfirmingDisconnect(null)}>
                      Cancel
                    </button>
                  </div>
                </div>
              )}
            </section>
          );
        })}
      </div>
          <Pager group={group} onPage={(offset) => setOffsets((o) => ({ ...o, [group.provider]: offset }))} />
        </section>
      ))}
    </>
  );
}

"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { PickerOffer } from "~/server/api/picker-offers";
import { useTRPC } from "~/trpc/react";

/**
 * The organisations one consent connected, all ticked: the admin unticks those that should not
 * stay, and "Keep selected" disconnects them (at Xero, that organisation alone leaves the grant).
 * Leaving the page keeps them all, as the consent granted.
 */
export function OrganisationPicker({ provider, offer }: { provider: string; offer: PickerOffer }) {
  const trpc = useTRPC();
  const offered = useQuery(trpc.connection.page.queryOptions({ providers: [provider], connectionIds: offer.ids, limit: 100 }));
  const [unticked, setUnticked] = useState<Set<string>>(new Set());
  const done = (kept: number, removed: number) =>
    window.location.assign(`/connections?${new URLSearchParams({ ...(kept > 0 ? { connected: provider } : {}), ...(removed > 0 ? { removed: String(removed) } : {}) }).toString()}`);
  const keep = useMutation(trpc.connection.keep.mutationOptions({ onSuccess: ({ kept, removed }) => done(kept.length, removed.length) }));

  if (offered.isPending) return <p aria-busy="true" className="card muted">Loading the organisations…</p>;
  if (offered.isError) return <p role="alert" className="banner bad">The organisations could not be loaded: {offered.error.message}</p>;
  const group = offered.data[0];
  const connections = (group?.connections ?? []).filter((c) => c.connectionId !== null);
  if (!group || connections.length === 0) return <p className="card muted">These organisations are not connected any more.</p>;
  const ids = connections.map((c) => c.connectionId!);
  const kept = ids.filter((id) => !unticked.has(id));
  const toggle = (id: string) =>
    setUnticked((set) => {
      const next = new Set(set);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <form
      className="card picker"
      aria-label={`${group.displayName} organisations`}
      onSubmit={(e) => {
        e.preventDefault();
        keep.mutate({ offer, offered: ids, keep: kept });
      }}
    >
      <p className="lead">
        Your {group.displayName} consent granted {ids.length} organisations. Each ticked one becomes a connection; an unticked one is disconnected at {group.displayName}.
      </p>
      {keep.isError && (
        <p role="alert" className="banner bad">
          {keep.error.message}
        </p>
      )}
      <ul>
        {connections.map((c) => (
          <li key={c.connectionId}>
            <label>
              <input type="checkbox" name="organisation" value={c.connectionId!} checked={!unticked.has(c.connectionId!)} onChange={() => toggle(c.connectionId!)} />
              <span>{c.name ?? c.externalId}</span>
              <span className="muted">{c.externalId}</span>
            </label>
          </li>
        ))}
      </ul>
      {kept.length === 0 && <p className="muted">None ticked: the consent is revoked at {group.displayName} and nothing stays connected.</p>}
      <div className="actions">
        <button type="submit" className={kept.length === 0 ? "danger" : "primary"} disabled={keep.isPending}>
          {keep.isPending ? "Saving…" : kept.length === 0 ? "Connect none" : `Keep ${kept.length} of ${ids.length}`}
        </button>
      </div>
    </form>
  );
}

"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTRPC } from "~/trpc/react";
import { LoadingOrFailed, NoticeBanner, ShownOnce, useNotice } from "./board-parts";
import { relative } from "./format";

type Scope = "connections:read" | "tokens:read" | "proxy";

const SCOPES: { scope: Scope; label: string }[] = [
  { scope: "connections:read", label: "connections:read — list connections" },
  { scope: "tokens:read", label: "tokens:read — read access tokens" },
  { scope: "proxy", label: "proxy — call the providers' APIs" },
];

/** The company's API keys: create (the key shown once), the list with last use, revoke. */
export function ApiKeysBoard() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { notice, setNotice, onError, said } = useNotice();
  // The key just created: shown once, never fetched again.
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["connections:read"]);
  const keys = useQuery(trpc.apiKey.list.queryOptions());
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.apiKey.pathKey() });

  const create = useMutation(
    trpc.apiKey.create.mutationOptions({
      onSuccess: (result) => {
        setCreated({ name: result.apiKey.name, key: result.key });
        setNotice(null);
        setName("");
      },
      onError,
      onSettled: invalidate,
    }),
  );
  const revoke = useMutation(trpc.apiKey.revoke.mutationOptions({ onSuccess: said("Key revoked: it is refused from its next request on."), onError, onSettled: invalidate }));

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ name, scopes });
  }
  const toggle = (scope: Scope) => setScopes((current) => (current.includes(scope) ? current.filter((s) => s !== scope) : [...current, scope]));

  if (keys.isPending || keys.isError) return <LoadingOrFailed query={keys} what="API keys" />;

  return (
    <>
      <NoticeBanner notice={notice} />
      {created && (
        <ShownOnce testId="new-api-key" value={created.key} onDone={() => setCreated(null)}>
          Key “{created.name}” created. It is shown this once: copy it into your service&apos;s secrets now.
        </ShownOnce>
      )}
      <section className="card" aria-labelledby="create-key">
        <h2 id="create-key">Create a key</h2>
        <form className="filters" onSubmit={submit}>
          <label>
            Name <input required maxLength={100} size={28} value={name} onChange={(e) => setName(e.target.value)} placeholder="billing-service" />
          </label>
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map(({ scope, label }) => (
              <label key={scope}>
                <input type="checkbox" checked={scopes.includes(scope)} onChange={() => toggle(scope)} /> {label}
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={create.isPending || scopes.length === 0}>
            Create key
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="keys">
        <h2 id="keys">Keys</h2>
        {keys.data.length === 0 ? (
          <p className="muted">No key yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Scopes</th>
                <th>Created</th>
                <th>Last used</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id} data-testid="api-key-row">
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}_…</code>
                  </td>
                  <td>{k.scopes.join(", ")}</td>
                  <td title={k.createdAt.toISOString()}>
                    {relative(k.createdAt)} by {k.createdBy}
                  </td>
                  <td>{k.lastUsedAt ? relative(k.lastUsedAt) : "never"}</td>
                  <td>
                    {k.revokedAt ? (
                      <span className="badge idle" title={k.revokedAt.toISOString()}>
                        Revoked {relative(k.revokedAt)}
                      </span>
                    ) : (
                      <button type="button" className="danger" disabled={revoke.isPending} onClick={() => revoke.mutate({ id: k.id })}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTRPC } from "~/trpc/react";
import { LoadingOrFailed, NoticeBanner, ShownOnce, useNotice } from "./board-parts";
import { relative } from "./format";

/** A delivery's state in words: delivered, waiting for its next attempt, or given up. */
function deliveryState(d: { deliveredAt: Date | null; nextAttemptAt: Date | null; attempts: number; lastError: string | null }): string {
  if (d.deliveredAt) return `delivered ${relative(d.deliveredAt)}`;
  if (d.nextAttemptAt) return d.attempts === 0 ? "queued" : `next attempt ${relative(d.nextAttemptAt)}`;
  return d.lastError ? `gave up: ${d.lastError}` : "gave up";
}

/** The company's webhook endpoints (add, pause, remove, send a test event) and the delivery log. */
export function WebhooksBoard() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { notice, setNotice, onError, said } = useNotice();
  // The secret of the endpoint just created: shown once, never fetched again.
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null);
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState("");
  const endpoints = useQuery(trpc.webhook.list.queryOptions());
  const deliveries = useQuery(trpc.webhook.deliveries.queryOptions(undefined, { refetchInterval: 5_000 }));
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.webhook.pathKey() });

  const create = useMutation(
    trpc.webhook.create.mutationOptions({
      onSuccess: (result) => {
        setCreated({ url: result.endpoint.url, secret: result.secret });
        setNotice(null);
        setUrl("");
        setSecret("");
      },
      onError,
      onSettled: invalidate,
    }),
  );
  const setEnabled = useMutation(trpc.webhook.setEnabled.mutationOptions({ onError, onSettled: invalidate }));
  const remove = useMutation(trpc.webhook.remove.mutationOptions({ onSuccess: said("Endpoint removed."), onError, onSettled: invalidate }));
  const sendTest = useMutation(
    trpc.webhook.sendTest.mutationOptions({ onSuccess: said("Test event queued: it appears in the delivery log below."), onError, onSettled: invalidate }),
  );

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ url, ...(secret.trim() ? { secret } : {}) });
  }

  if (endpoints.isPending || endpoints.isError) return <LoadingOrFailed query={endpoints} what="webhook endpoints" />;
  const urlOf = new Map(endpoints.data.map((e) => [e.id, e.url]));

  return (
    <>
      <NoticeBanner notice={notice} />
      {created && (
        <ShownOnce testId="new-secret" value={created.secret} onDone={() => setCreated(null)}>
          Endpoint {created.url} added. Its signing secret is shown this once: copy it into your receiver now.
        </ShownOnce>
      )}
      <section className="card" aria-labelledby="add-endpoint">
        <h2 id="add-endpoint">Add an endpoint</h2>
        <form className="filters" onSubmit={submit}>
          <label>
            URL <input type="url" required size={48} value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/webhooks/tokenvault" />
          </label>
          <label>
            Signing secret (optional) <input size={36} value={secret} onChange={(e) => setSecret(e.target.value)} placeholder="whsec_… — leave empty to generate one" autoComplete="off" />
          </label>
          <button type="submit" disabled={create.isPending}>
            Add endpoint
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="endpoints">
        <h2 id="endpoints">Endpoints</h2>
        {endpoints.data.length === 0 ? (
          <p className="muted">No endpoint yet: connection events are not sent anywhere.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>URL</th>
                <th>Status</th>
                <th>Added</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {endpoints.data.map((e) => (
                <tr key={e.id} data-testid="endpoint-row">
                  <td>{e.url}</td>
                  <td>{e.enabled ? <span className="badge ok">Active</span> : <span className="badge idle">Paused</span>}</td>
                  <td title={e.createdAt.toISOString()}>
                    {relative(e.createdAt)} by {e.createdBy}
                  </td>
                  <td>
                    <button type="button" disabled={sendTest.isPending || !e.enabled} onClick={() => sendTest.mutate({ id: e.id })}>
                      Send test event
                    </button>{" "}
                    <button type="button" disabled={setEnabled.isPending} onClick={() => setEnabled.mutate({ id: e.id, enabled: !e.enabled })}>
                      {e.enabled ? "Pause" : "Resume"}
                    </button>{" "}
                    <button type="button" className="danger" disabled={remove.isPending} onClick={() => remove.mutate({ id: e.id })}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="card" aria-labelledby="deliveries">
        <h2 id="deliveries">Delivery log</h2>
        {deliveries.isError && <p role="alert">{deliveries.error.message}</p>}
        <table>
          <thead>
            <tr>
              <th>Event</th>
              <th>Endpoint</th>
              <th>Attempts</th>
              <th>Last status</th>
              <th>State</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.data?.map((d) => (
              <tr key={d.id} data-testid="delivery-row">
                <td title={`webhook-id ${d.id}`}>{d.eventType}</td>
                <td>{urlOf.get(d.endpointId) ?? "(removed)"}</td>
                <td>{d.attempts}</td>
                <td>{d.lastStatus === null ? "—" : d.lastStatus === 0 ? "no answer" : d.lastStatus}</td>
                <td>{deliveryState(d)}</td>
                <td title={d.createdAt.toISOString()}>{relative(d.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}

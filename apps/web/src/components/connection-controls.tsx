"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import type { ConnectionView } from "@tokenvault/token";
import { useTRPC } from "~/trpc/react";
import type { Notice } from "./board-parts";

/**
 * Inside a connection's card: its name, tags and pause state for everyone; rename, tags and
 * pause / resume for administrators (the API refuses members too). Pausing asks first when it
 * would let the provider end the grant (no other enabled connection keeps it alive).
 */
export function ConnectionControls({ c, isAdmin, notify, changed }: { c: ConnectionView; isAdmin: boolean; notify: (n: Notice) => void; changed: () => unknown }) {
  const trpc = useTRPC();
  const [editing, setEditing] = useState(false);
  const [confirmingPause, setConfirmingPause] = useState(false);
  const [name, setName] = useState(c.customName ?? "");
  const [tags, setTags] = useState(c.tags.join(", "));
  const onError = (error: { message: string }) => notify({ tone: "bad", text: error.message });
  const done = (text: string) => () => notify({ tone: "ok", text });
  const pause = useMutation(trpc.connection.disable.mutationOptions({ onSuccess: done("Paused: no token is served until it is resumed."), onError, onSettled: changed }));
  const resume = useMutation(trpc.connection.enable.mutationOptions({ onSuccess: done("Resumed."), onError, onSettled: changed }));
  const update = useMutation(trpc.connection.update.mutationOptions({ onSuccess: () => (setEditing(false), notify({ tone: "ok", text: "Saved." })), onError, onSettled: changed }));
  const id = c.connectionId;
  if (!id) return null;
  const day = (d: Date) => d.toISOString().slice(0, 10);
  // The user (or the provider) may grant less than was asked: said plainly, not only in a tooltip.
  const notGranted = c.requestedScopes.filter((s) => !c.grantedScopes.includes(s));
  const idleEnd = c.idleExpiryIfPaused;
  const warning = idleEnd && `${c.displayName} ends this authorization on ${day(idleEnd)} if nothing refreshes it: resume before then, or it must be reconnected.`;

  return (
    <div className="connection-controls" data-testid={`controls-${id}`}>
      {(c.disabled || c.customName || c.tags.length > 0 || c.grantedScopes.length > 0) && (
        <p className="muted">
          {c.customName && <strong data-testid={`custom-name-${c.provider}`}>{c.customName} </strong>}
          {c.disabled && (
            <span className="badge warn" data-testid={`paused-${c.provider}`}>
              Paused
            </span>
          )}{" "}
          {c.tags.map((t) => (
            <span key={t} className="badge idle">
              {t}
            </span>
          ))}{" "}
          {c.grantedScopes.length > 0 && (
            <small title={`Requested: ${c.requestedScopes.join(" ")}`} data-testid={`granted-scopes-${id}`}>
              Scopes: {c.grantedScopes.join(" ")}
            </small>
          )}
          {notGranted.length > 0 && (
            <small className="error-text" data-testid={`scopes-not-granted-${id}`}>
              {" "}
              Requested but not granted: {notGranted.join(" ")}
            </small>
          )}
        </p>
      )}
      {c.disabled && warning && <p className="error-text" data-testid={`pause-warning-${c.provider}`}>{warning}</p>}
      {isAdmin && (
        <div className="actions">
          {c.disabled ? (
            <button type="button" disabled={resume.isPending} onClick={() => resume.mutate({ connectionId: id })}>
              {resume.isPending ? "Resuming…" : "Resume"}
            </button>
          ) : (
            <button type="button" disabled={pause.isPending} onClick={() => (warning ? setConfirmingPause(true) : pause.mutate({ connectionId: id }))}>
              {pause.isPending ? "Pausing…" : "Pause"}
            </button>
          )}
          <button type="button" onClick={() => setEditing(!editing)}>
            {editing ? "Close" : "Rename and tag"}
          </button>
        </div>
      )}
      {confirmingPause && (
        <div role="alertdialog" aria-labelledby={`pause-${id}`} className="confirm">
          <p id={`pause-${id}`}>Pause it? Tokenvault stops serving and refreshing its token; nothing is revoked. {warning}</p>
          <div className="actions">
            <button type="button" className="danger" onClick={() => (setConfirmingPause(false), pause.mutate({ connectionId: id }))}>
              Yes, pause
            </button>
            <button type="button" autoFocus onClick={() => setConfirmingPause(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {editing && (
        <form
          className="actions"
          onSubmit={(event) => {
            event.preventDefault();
            update.mutate({ connectionId: id, settings: { name: name.trim() || null, tags: tags.split(",").map((t) => t.trim()).filter(Boolean) } });
          }}
        >
          <label>
            Name <input value={name} maxLength={100} placeholder={c.name ?? c.displayName} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Tags <input value={tags} placeholder="prod, eu" onChange={(e) => setTags(e.target.value)} />
          </label>
          <button type="submit" disabled={update.isPending}>
            {update.isPending ? "Saving…" : "Save"}
          </button>
        </form>
      )}
    </div>
  );
}

import { useState, type ReactNode } from "react";

/** A board's answer to the last action: a status line, or an alert when it failed. */
export type Notice = { tone: "ok" | "bad"; text: string };

/**
 * A board's notice and what its mutations hand it: `onError` shows the error's message as an
 * alert, `said(text)` is an onSuccess that shows a status line.
 */
export function useNotice(initial: Notice | null = null) {
  const [notice, setNotice] = useState<Notice | null>(initial);
  const onError = (error: { message: string }) => setNotice({ tone: "bad", text: error.message });
  const said = (text: string) => () => setNotice({ tone: "ok", text });
  return { notice, setNotice, onError, said };
}

export function NoticeBanner({ notice }: { notice: Notice | null }) {
  if (!notice) return null;
  return (
    <p role={notice.tone === "bad" ? "alert" : "status"} className={`banner ${notice.tone}`}>
      {notice.text}
    </p>
  );
}

/** A secret the server answered once (a signing secret, an API key): shown until dismissed, never fetched again. */
export function ShownOnce({ testId, value, onDone, children }: { testId: string; value: string; onDone: () => void; children: ReactNode }) {
  return (
    <section role="status" className="banner ok" data-testid={testId}>
      <p>{children}</p>
      <code>{value}</code>{" "}
      <button type="button" onClick={onDone}>
        I have copied it
      </button>
    </section>
  );
}

/** What a board shows until its list has loaded, or instead of it when loading failed; null once loaded. */
export function LoadingOrFailed({ query, what }: { query: { isPending: boolean; isError: boolean; error: { message: string } | null }; what: string }) {
  if (query.isPending) return <p aria-busy="true" className="card muted">Loading {what}…</p>;
  if (query.isError) return <p role="alert" className="banner bad">{what[0]!.toUpperCase() + what.slice(1)} could not be loaded: {query.error?.message}</p>;
  return null;
}

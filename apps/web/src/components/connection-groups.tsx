"use client";

import { useEffect, useRef, useState, type ReactNode } from "react";

/** What the board knows of a provider's group: its counts and the page shown. */
interface Group {
  provider: string;
  displayName: string;
  count: number;
  total: number;
  offset: number;
  limit: number;
}

export interface Search {
  text: string;
  applied: string;
  setText: (text: string) => void;
}

/**
 * The search box's text, and the text the query uses: applied 300 ms after the last keystroke,
 * so typing a name costs one query, not one per letter. `onApply` runs as it changes (back to page 1).
 */
export function useSearch(onApply: () => void): Search {
  const [text, setText] = useState("");
  const [applied, setApplied] = useState("");
  const apply = useRef(onApply);
  apply.current = onApply;
  useEffect(() => {
    const trimmed = text.trim();
    if (trimmed === applied) return;
    const timer = setTimeout(() => {
      setApplied(trimmed);
      apply.current();
    }, 300);
    return () => clearTimeout(timer);
  }, [text, applied]);
  return { text, applied, setText };
}

export function SearchBox({ search }: { search: Search }) {
  return (
    <form className="filters card" role="search" aria-label="Connection search" onSubmit={(e) => e.preventDefault()}>
      <label>
        Search connections
        <input type="search" value={search.text} maxLength={100} placeholder="Name, tag or id" onChange={(e) => search.setText(e.target.value)} />
      </label>
    </form>
  );
}

/** The provider's name, how many connections it has (and how many match), and the group's actions. */
export function GroupHeader({ group, search, children }: { group: Group; search: string; children?: ReactNode }) {
  const plural = (n: number) => `${n.toLocaleString("en")} connection${n === 1 ? "" : "s"}`;
  return (
    <header className="group-header">
      <h2 id={`group-${group.provider}`}>{group.displayName}</h2>
      <span className="muted" data-testid={`count-${group.provider}`}>
        {search && group.count > 0 ? `${group.total.toLocaleString("en")} of ${plural(group.count)} match` : plural(group.count)}
      </span>
      {children}
      {search && group.count > 0 && group.total === 0 && <p className="muted">No {group.displayName} connection matches “{search}”.</p>}
    </header>
  );
}

/** Previous / next through a provider's connections, with where the page is. Hidden when one page holds them all. */
export function Pager({ group, onPage }: { group: Group; onPage: (offset: number) => void }) {
  if (group.total <= group.limit && group.offset === 0) return null;
  const page = Math.floor(group.offset / group.limit) + 1;
  const pages = Math.max(1, Math.ceil(group.total / group.limit));
  const last = Math.min(group.offset + group.limit, group.total);
  return (
    <nav className="pager" aria-label={`${group.displayName} pages`}>
      <button type="button" disabled={group.offset === 0} onClick={() => onPage(Math.max(0, group.offset - group.limit))}>
        Previous
      </button>
      <span data-testid={`page-${group.provider}`}>
        Page {page} of {pages} · {group.total === 0 ? 0 : group.offset + 1}–{last} of {group.total.toLocaleString("en")}
      </span>
      <button type="button" disabled={last >= group.total} onClick={() => onPage(group.offset + group.limit)}>
        Next
      </button>
    </nav>
  );
}

import { CONTROL_CHARACTERS } from "../api/request-checks";

/** The header proxy.ts sets on page requests: the path and query asked for, so a page can send the browser back to it. */
export const PAGE_PATH_HEADER = "x-tokenvault-page";

/** Where a browser goes when it names no page to return to. */
export const DEFAULT_RETURN_PATH = "/connections";

/**
 * Any origin serves to resolve a path against: a path that stays a path resolves to it whatever it
 * is, and one that names another host ("//evil", "/\t/evil") does not.
 */
const OWN_ORIGIN = "https://tokenvault.invalid";

/**
 * Besides control characters (CONTROL_CHARACTERS), the Unicode line and paragraph separators and
 * backslashes: a browser drops tabs and newlines from a URL and reads "\" as "/", so "/\t/evil"
 * or "/\evil" is "//evil" to it; none of them belongs in a path this app links to.
 */
const REFUSED_CHARACTERS = /[\u2028\u2029\\]/;

/**
 * The same-origin path `input` names, re-serialised from the parsed URL (so what goes into a
 * Location header is what the browser will follow, percent-encoded), or null when it is anything
 * else: another origin, a control character or backslash anywhere, not starting with one "/".
 */
export function parseReturnPath(input: string): string | null {
  if (!input.startsWith("/") || input.startsWith("//") || CONTROL_CHARACTERS.test(input) || REFUSED_CHARACTERS.test(input)) return null;
  let url: URL;
  try {
    url = new URL(input, OWN_ORIGIN);
  } catch {
    return null;
  }
  if (url.origin !== OWN_ORIGIN) return null;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Belt and braces: what the browser receives must itself be a plain path.
  return path.startsWith("//") ? null : path;
}

/** A same-origin path to return to, or the dashboard, for paths this app built itself (a page's own path). */
export function safeReturnPath(path: string | null | undefined): string {
  return (path && parseReturnPath(path)) || DEFAULT_RETURN_PATH;
}

/** Where a page sends a browser whose session needs a refresh. */
export function refreshPath(page: string | null | undefined): string {
  return `/api/auth/refresh?${new URLSearchParams({ next: safeReturnPath(page) }).toString()}`;
}

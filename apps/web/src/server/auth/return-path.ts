/** The header proxy.ts sets on page requests: the path and query asked for, so a page can send the browser back to it. */
export const PAGE_PATH_HEADER = "x-tokenvault-page";

/** A same-origin path to return to, or the dashboard: never another host ("//evil", "/\\evil", "https:"). */
export function safeReturnPath(path: string | null | undefined): string {
  if (!path || !path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\") || /[\r\n]/.test(path)) return "/connections";
  return path;
}

/** Where a page sends a browser whose session needs a refresh. */
export function refreshPath(page: string | null | undefined): string {
  return `/api/auth/refresh?${new URLSearchParams({ next: safeReturnPath(page) }).toString()}`;
}

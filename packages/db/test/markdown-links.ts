import { posix } from "node:path";

/** A relative link in a markdown file whose target file or `#anchor` does not exist. */
export interface BrokenLink {
  file: string;
  link: string;
  reason: string;
}

const FENCE = /^\s*(```|~~~)/;
const HEADING = /^#{1,6}\s+(.*?)\s*#*\s*$/;
const HTML_ANCHOR = /<a\s+(?:id|name)="([^"]+)"/g;
const LINK = /\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** The lines of a markdown text outside fenced code blocks (a `# comment` in a shell block is no heading). */
function proseLines(text: string): string[] {
  const lines: string[] = [];
  let inFence = false;
  for (const line of text.split("\n")) {
    if (FENCE.test(line)) inFence = !inFence;
    else if (!inFence) lines.push(line);
  }
  return lines;
}

/** GitHub's heading slug: lower case, punctuation dropped (letters, digits, `-` and `_` kept), spaces to `-`. */
export function githubSlug(heading: string): string {
  return heading
    .replace(/<[^>]*>/g, "")
    .toLowerCase()
    .trim()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** Every anchor a markdown text offers: heading slugs (repeats get `-1`, `-2`, ... as on GitHub) and `<a id>`. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text)) {
    const heading = HEADING.exec(line);
    if (heading) {
      const slug = githubSlug(heading[1] ?? "");
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const match of line.matchAll(HTML_ANCHOR)) anchors.add(match[1] ?? "");
  }
  return anchors;
}

/**
 * Checks every relative link of the given markdown files (paths relative to the repository root,
 * `/`-separated). `exists` says whether a path that is not among `files` exists (a source file or
 * folder a page links to). Links with a scheme (`https:`, `mailto:`) are not checked.
 */
export function findBrokenLinks(files: ReadonlyMap<string, string>, exists: (path: string) => boolean): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const [file, text] of files) {
    for (const line of proseLines(text)) {
      for (const match of line.matchAll(LINK)) {
        const link = match[1] ?? "";
        if (SCHEME.test(link)) continue;
        const [target = "", anchor] = link.split("#", 2);
        const path = target === "" ? file : posix.normalize(posix.join(posix.dirname(file), target));
        const targetText = files.get(path);
        if (targetText === undefined && !exists(path)) {
          broken.push({ file, link, reason: `no file ${path}` });
        } else if (anchor !== undefined) {
          if (targetText === undefined) broken.push({ file, link, reason: `${path} is not a checked markdown file` });
          else if (!anchorsOf(targetText).has(anchor)) broken.push({ file, link, reason: `no heading #${anchor} in ${path}` });
        }
      }
    }
  }
  return broken;
}

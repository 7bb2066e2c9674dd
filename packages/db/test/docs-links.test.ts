import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../src/paths";
import { anchorsOf, findBrokenLinks, githubSlug } from "./markdown-links";

// The repository's documentation: README.md is the front door and stays short; the details live in
// docs/*.md. Kept with the db package's tests because it reads the repository from its root.
const root = repoRoot();

function documentation(): Map<string, string> {
  const files = new Map<string, string>([["README.md", readFileSync(join(root, "README.md"), "utf8")]]);
  for (const name of readdirSync(join(root, "docs")).filter((n) => n.endsWith(".md")).sort()) {
    files.set(`docs/${name}`, readFileSync(join(root, "docs", name), "utf8"));
  }
  return files;
}

const existsInRepo = (path: string) => !path.startsWith("..") && existsSync(join(root, path));

describe("the documentation", () => {
  it("keeps README.md a short front door (at most 220 lines)", () => {
    const lines = readFileSync(join(root, "README.md"), "utf8").trimEnd().split("\n").length;
    expect(lines).toBeLessThanOrEqual(220);
  });

  it("has docs pages, each linked from README.md", () => {
    const files = documentation();
    const readme = files.get("README.md") ?? "";
    const pages = [...files.keys()].filter((f) => f.startsWith("docs/"));
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.filter((page) => !readme.includes(`](${page}`))).toEqual([]);
  });

  it("has no relative link to a missing file or heading", () => {
    expect(findBrokenLinks(documentation(), existsInRepo)).toEqual([]);
  });

  // Pages cite tests by path as evidence; a renamed or removed test must not leave them pointing nowhere.
  it("names only test files that exist", () => {
    const cited = [...documentation().values()].flatMap((text) => [...text.matchAll(/`((?:apps|packages|tooling)\/[^`\s]+\.test\.[cm]?[jt]s)`/g)].map((m) => m[1] ?? ""));
    expect(cited.length).toBeGreaterThan(0);
    expect(cited.filter((path) => !existsInRepo(path))).toEqual([]);
  });
});

describe("findBrokenLinks", () => {
  const files = new Map([
    ["README.md", "# Tokenvault\n\nSee [setup](docs/setup.md#running-the-tests) and [code](packages/db).\n"],
    ["docs/setup.md", "# Setup\n\n```sh\n# not a heading\n```\n\n## Running the tests\n\n<a id=\"limits\"></a>Limits. [Back](../README.md#tokenvault)\n"],
  ]);
  const exists = (path: string) => path === "packages/db";

  it("accepts links to existing files, headings and <a id> anchors", () => {
    const withAnchor = new Map([...files, ["docs/other.md", "[limits](setup.md#limits) [self](#other) [web](https://example.com/x#y)\n\n# Other\n"]]);
    expect(findBrokenLinks(withAnchor, exists)).toEqual([]);
  });

  it("reports a link to a missing file, a missing heading, and a heading only inside a code block", () => {
    const broken = new Map([
      ["README.md", "# Tokenvault\n\n[a](docs/gone.md) [b](docs/setup.md#nowhere) [c](docs/setup.md#not-a-heading) [d](#tokenvault)\n"],
      ["docs/setup.md", files.get("docs/setup.md") ?? ""],
    ]);
    expect(findBrokenLinks(broken, exists).map((b) => b.link)).toEqual([
      "docs/gone.md",
      "docs/setup.md#nowhere",
      "docs/setup.md#not-a-heading",
    ]);
  });

  it("slugs headings as GitHub does", () => {
    expect(githubSlug("One run of `pnpm bench`")).toBe("one-run-of-pnpm-bench");
    expect(githubSlug("Connections: reconnect, checks, states")).toBe("connections-reconnect-checks-states");
    expect(githubSlug("The warm path: per-process token cache")).toBe("the-warm-path-per-process-token-cache");
    expect([...anchorsOf("# A\n\n## A\n\n### A\n")]).toEqual(["a", "a-1", "a-2"]);
  });
});

/**
 * The import graph of src (tests left out) has no circle, and imports run down the floors:
 *   floor 0  options.ts, types.ts, clock, logger, pino-logger, metrics, validation, database-unavailable, env, shutdown
 *   floor 1  oauth, providers, secrets, audit
 *   floor 2  connections
 *   floor 3  refresh, tokens, checks, connect, views, webhooks, api-keys, and service-parts.ts: the bundle of
 *            parts (stores, token cache, listener, webhook outbox) these modules are built from
 *   floor 4  token-service.ts, default-service.ts, key-rotation.ts, index.ts, cli
 * Imports within one folder and sideways on one floor are fine; an import from a lower floor up to a
 * higher one is an up-arrow, allowed only when listed in KNOWN_UP_ARROWS (at most 3).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const FLOORS: Record<string, number> = {
  "options.ts": 0, "types.ts": 0, "clock.ts": 0, "logger.ts": 0, "pino-logger.ts": 0, metrics: 0,
  "validation.ts": 0, "database-unavailable.ts": 0, "env.ts": 0, "shutdown.ts": 0,
  oauth: 1, providers: 1, secrets: 1, audit: 1,
  connections: 2,
  refresh: 3, tokens: 3, checks: 3, connect: 3, views: 3, webhooks: 3, "service-parts.ts": 3, "provider-calls": 3, "api-keys": 3,
  "token-service.ts": 4, "service-wiring.ts": 4, "default-service.ts": 4, "key-rotation.ts": 4, "index.ts": 4, cli: 4,
};

/** "from -> to", paths relative to src. */
const KNOWN_UP_ARROWS: string[] = [];

const SRC = dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Relative imports and re-exports of every source file (type-only ones too), as paths relative to src. */
function importGraph(): Map<string, string[]> {
  const files = sourceFiles(SRC).map((file) => relative(SRC, file));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(SRC, file), "utf8"), true, true);
    const targets = importedFiles
      .map((imported) => imported.fileName)
      .filter((name) => name.startsWith("."))
      .map((name) => {
        const base = relative(SRC, resolve(SRC, dirname(file), name));
        const target = [`${base}.ts`, join(base, "index.ts")].find((candidate) => known.has(candidate));
        if (!target) throw new Error(`${file} imports ${name}, which is not a source file`);
        return target;
      });
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

function floorOf(file: string): number {
  const floor = FLOORS[file.split("/")[0]!];
  if (floor === undefined) throw new Error(`${file} has no floor: add it to FLOORS`);
  return floor;
}

function circles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string) => {
    const at = path.indexOf(file);
    if (at >= 0) return void found.push([...path.slice(at), file]);
    if (done.has(file)) return;
    path.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    path.pop();
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) visit(file);
  return found;
}

function upArrows(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([from, targets]) =>
    targets.filter((to) => floorOf(to) > floorOf(from)).map((to) => `${from} -> ${to}`),
  ).sort();
}

describe("imports in src", () => {
  const graph = importGraph();

  it("form no circle", () => {
    expect(circles(graph).map((circle) => circle.join(" -> "))).toEqual([]);
  });

  it("run down the floors, but for the known exceptions", () => {
    expect(KNOWN_UP_ARROWS.length).toBeLessThanOrEqual(3);
    expect(upArrows(graph)).toEqual([...KNOWN_UP_ARROWS].sort());
  });
});

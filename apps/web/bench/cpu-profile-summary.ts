// Reads a CPU profile (node --cpu-prof, e.g. the web bench's `--cpu-prof DIR`) and prints where the
// self time went: by package, then the top frames. Next bundles our workspace packages into
// .next/server chunks: a frame there is traced back to its source through the chunk's source map
// when it has one. Usage: tsx bench/cpu-profile-summary.ts <file.cpuprofile> [top frames, default 25]
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface Profile {
  nodes: { id: number; callFrame: Frame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: cpu-profile-summary.ts <file.cpuprofile> [top]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;

const maps = new Map<string, SourceMap | null>();
function sourceMapOf(url: string): SourceMap | null {
  if (!maps.has(url)) {
    let map: SourceMap | null = null;
    try {
      const path = url.startsWith("file://") ? fileURLToPath(url) : url;
      if (existsSync(`${path}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, "utf8")) as ConstructorParameters<typeof SourceMap>[0]);
    } catch {
      map = null;
    }
    maps.set(url, map);
  }
  return maps.get(url)!;
}

/** The original source file of a frame (through the source map of a bundled chunk), or its URL. */
function sourceOf(frame: Frame): string {
  if (!frame.url.includes("/.next/")) return frame.url;
  const entry = sourceMapOf(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
  return entry && "originalSource" in entry && entry.originalSource ? entry.originalSource : frame.url;
}

/** The package a source belongs to: a node_modules package, one of ours, Node's own, or V8's bookkeeping. */
function packageOf(source: string, frame: Frame): string {
  if (!source) return frame.functionName.startsWith("(") ? frame.functionName : "(native / V8)";
  if (source.startsWith("node:")) return "node (internals)";
  const modules = source.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const parts = source.slice(modules + "node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const ours = /(?:packages|apps)\/([^/]+)\//.exec(source);
  if (ours) return `@tokenvault/${ours[1]}`;
  return source.includes("/.next/") ? "(Next bundle, unmapped)" : source;
}

const selfMs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) selfMs.set(profile.samples[i]!, (selfMs.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
const total = [...selfMs.values()].reduce((a, b) => a + b, 0);

const byPackage = new Map<string, number>();
const byFrame = new Map<string, { ms: number; pkg: string }>();
for (const node of profile.nodes) {
  const ms = selfMs.get(node.id) ?? 0;
  if (ms === 0) continue;
  const source = sourceOf(node.callFrame);
  const pkg = packageOf(source, node.callFrame);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
  const short = source.replace(/^.*node_modules\//, "").replace(/^.*\/(packages|apps)\//, "$1/");
  const key = `${node.callFrame.functionName || "(anonymous)"}  ${short}:${node.callFrame.lineNumber + 1}`;
  const frame = byFrame.get(key) ?? { ms: 0, pkg };
  frame.ms += ms;
  byFrame.set(key, frame);
}
// Inclusive: a sample counts once for every package on its stack (what a package's calls cost,
// the work it asks of others included).
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const packageOfNode = new Map<number, string>();
for (const node of profile.nodes) packageOfNode.set(node.id, packageOf(sourceOf(node.callFrame), node.callFrame));
const inclusive = new Map<string, number>();
for (const [id, ms] of selfMs) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) seen.add(packageOfNode.get(at)!);
  for (const pkg of seen) inclusive.set(pkg, (inclusive.get(pkg) ?? 0) + ms);
}

const pct = (ms: number) => `${((100 * ms) / total).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${(total / 1000).toFixed(1)} s of samples`);
console.log("\nself time by package");
for (const [pkg, ms] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(ms)}  ${(ms / 1000).toFixed(2).padStart(7)} s  ${pkg}`);
console.log("\ntime with the package on the stack (inclusive), ours and the libraries they call");
for (const [pkg, ms] of [...inclusive].sort((a, b) => b[1] - a[1]).filter(([pkg]) => !pkg.startsWith("(") && pkg !== "node (internals)").slice(0, 15)) console.log(`  ${pct(ms)}  ${(ms / 1000).toFixed(2).padStart(7)} s  ${pkg}`);
console.log("\ntop frames by self time");
for (const [key, { ms, pkg }] of [...byFrame].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(topArg ?? 25))) console.log(`  ${pct(ms)}  ${pkg.padEnd(28)} ${key}`);

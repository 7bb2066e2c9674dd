// Compares two heap snapshots of one process (the web bench's `--heap-snapshots DIR` writes one after
// the warm-up and after each round): the live heap in each, its growth, and the object kinds that
// grew most, by count and by size. With the number of requests served between them, the growth per
// request: what a leak would show as a steady amount, where a stable server shows about zero.
// Usage: tsx bench/heap-snapshot-diff.ts <before.heapsnapshot> <after.heapsnapshot> [requests between]
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface Kinds {
  total: number;
  count: number;
  byKind: Map<string, { count: number; size: number }>;
}

/** Live objects by kind: V8's node type, and for objects and closures their constructor or function name. */
function kindsOf(file: string): Kinds {
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")];
  const byKind = new Map<string, { count: number; size: number }>();
  let total = 0;
  let count = 0;
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const size = snapshot.nodes[i + sizeAt]!;
    // Strings are named by their content: a token could be one; count them by type only.
    const named = type === "object" || type === "closure" || type === "native";
    const kind = named ? `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]!]!.slice(0, 60)}` : `(${type})`;
    const entry = byKind.get(kind) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += size;
    byKind.set(kind, entry);
    total += size;
    count++;
  }
  return { total, count, byKind };
}

const [beforeFile, afterFile, requestsArg] = process.argv.slice(2);
if (!beforeFile || !afterFile) throw new Error("usage: heap-snapshot-diff.ts <before> <after> [requests between]");
const before = kindsOf(beforeFile);
const after = kindsOf(afterFile);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
const growth = after.total - before.total;
console.log(`live heap: ${mb(before.total)} (${before.count} objects) -> ${mb(after.total)} (${after.count} objects): ${growth >= 0 ? "+" : ""}${mb(growth)}, ${after.count - before.count >= 0 ? "+" : ""}${after.count - before.count} objects`);
if (requestsArg) {
  const requests = Number(requestsArg);
  console.log(`per request (${requests} between the snapshots): ${(growth / requests).toFixed(1)} bytes, ${((after.count - before.count) / requests).toFixed(3)} objects`);
}
const rows = [...new Set([...before.byKind.keys(), ...after.byKind.keys()])].map((kind) => {
  const b = before.byKind.get(kind) ?? { count: 0, size: 0 };
  const a = after.byKind.get(kind) ?? { count: 0, size: 0 };
  return { kind, count: a.count - b.count, size: a.size - b.size, now: a.count };
});
console.log("\ngrew most by size");
for (const r of [...rows].sort((x, y) => y.size - x.size).slice(0, 15)) console.log(`  ${(r.size >= 0 ? "+" : "") + (r.size / 1024).toFixed(1).padStart(9)} KB  ${(r.count >= 0 ? "+" : "") + String(r.count).padStart(7)} objects (${r.now} now)  ${r.kind}`);
console.log("\ngrew most by count");
for (const r of [...rows].sort((x, y) => y.count - x.count).slice(0, 15)) console.log(`  ${(r.count >= 0 ? "+" : "") + String(r.count).padStart(7)} objects  ${(r.size >= 0 ? "+" : "") + (r.size / 1024).toFixed(1).padStart(9)} KB (${r.now} now)  ${r.kind}`);

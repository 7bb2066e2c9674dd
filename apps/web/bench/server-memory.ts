// The bench's view of the web server process: its resident memory (with its children) and, for
// `--heap-snapshots`, the heap snapshots it writes on SIGUSR2 (node --heapsnapshot-signal).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Resident memory in MB of the process and its descendants (Linux /proc). */
export function rssMb(pid: number): number {
  let kb = 0;
  const visit = (p: number) => {
    try {
      const line = readFileSync(`/proc/${p}/status`, "utf8").match(/^VmRSS:\s+(\d+)/m);
      kb += Number(line?.[1] ?? 0);
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, "utf8").trim();
        for (const child of children ? children.split(" ") : []) visit(Number(child));
      }
    } catch {
      // The process ended between reads: nothing more to count.
    }
  };
  visit(pid);
  return kb / 1024;
}

/** The node process serving requests: `pid` itself or the first node among its descendants (`sh -c` → `next`). */
export function nodeProcess(pid: number): number {
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    try {
      const name = readFileSync(`/proc/${p}/comm`, "utf8").trim();
      if (name === "node" || name.startsWith("next-server")) return p;
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, "utf8").trim();
        if (children) queue.push(...children.split(" ").map(Number));
      }
    } catch {
      // Gone: look at the others.
    }
  }
  throw new Error(`no node process under ${pid}`);
}

/** Asks the server for a heap snapshot (SIGUSR2) and resolves with its file once written completely. */
export async function heapSnapshot(pid: number, dir: string): Promise<string> {
  // Requests still in flight when autocannon stopped would count as growth: let them finish.
  await new Promise((r) => setTimeout(r, 10_000));
  const before = new Set(readdirSync(dir));
  process.kill(nodeProcess(pid), "SIGUSR2");
  const deadline = Date.now() + 300_000;
  let last = -1;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const file = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
    // Written by the server's main thread in one go: done once its size holds for a second.
    if (file) {
      const size = statSync(join(dir, file)).size;
      if (size > 0 && size === last) return join(dir, file);
      last = size;
    }
    if (Date.now() > deadline) throw new Error("the server wrote no heap snapshot within 5 minutes");
  }
}

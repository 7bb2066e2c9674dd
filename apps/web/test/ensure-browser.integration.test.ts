// The setup step run for real as a child process, made to believe no browser exists: PATH holds
// only a temp dir, CHROMIUM_PATH is unset, and the test-only overrides empty the fixed paths and
// Chrome channels and point apt-get at a missing file or at a fake that only records its calls.
// Real apt-get is never run.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { manualCommand, planInstall } from "../scripts/ensure-browser.mjs";

const SCRIPT = join(import.meta.dirname, "..", "scripts", "ensure-browser.mjs");
const root = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), "ensure-browser-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let runs = 0;
/** A fresh empty bin dir, a fake apt-get logging to apt.log, and the script's result. */
function runScript(env: Record<string, string>, aptGet: "missing" | "fake" = "missing", browserOnPath = false) {
  const work = join(dir, String(runs++));
  const bin = join(work, "bin");
  mkdirSync(bin, { recursive: true });
  if (browserOnPath) {
    writeFileSync(join(bin, "chromium"), "#!/bin/sh\n");
    chmodSync(join(bin, "chromium"), 0o755);
  }
  const log = join(work, "apt.log");
  const fakeApt = join(work, "apt-get");
  // On `install` the fake drops a "chromium" into bin, as the real package does into /usr/bin
  // (its own PATH is reset: the script under test runs with PATH holding only the empty bin).
  writeFileSync(
    fakeApt,
    `#!/bin/sh\nPATH=/usr/bin:/bin\necho "$* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> '${log}'\n` +
      `if [ "$1" = install ]; then printf '#!/bin/sh\\n' > '${bin}/chromium'; chmod 755 '${bin}/chromium'; fi\n`,
  );
  chmodSync(fakeApt, 0o755);
  const started = Date.now();
  const result = spawnSync(process.execPath, [SCRIPT], {
    encoding: "utf8",
    env: {
      NODE_ENV: "test", // required by Next's ProcessEnv type; unused by the script
      PATH: bin,
      ENSURE_BROWSER_TEST_FIXED_PATHS: "",
      ENSURE_BROWSER_TEST_CHANNELS: "",
      ENSURE_BROWSER_TEST_APT_GET: aptGet === "fake" ? fakeApt : join(work, "no-apt-get"),
      ...env,
    },
  });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    ms: Date.now() - started,
    bin,
    aptCalls: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [],
  };
}

describe("ensure-browser (the test command's setup step)", () => {
  it("without a browser and without apt-get, exits 1 at once printing the exact install command", () => {
    const run = runScript({});
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("no Chromium or Chrome found");
    expect(run.stderr).toContain("apt-get was not found");
    expect(run.stderr).toContain(`\n    ${manualCommand(root)}\n`);
    expect(run.stderr).toContain("CHROMIUM_PATH");
    expect(run.ms).toBeLessThan(10_000);
  });

  it("with a browser on PATH, exits 0 naming it and never calls apt-get", () => {
    const run = runScript({}, "fake", true);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`browser tests will use ${join(run.bin, "chromium")} (chromium on PATH)`);
    expect(run.aptCalls).toEqual([]);
  });

  it("with CHROMIUM_PATH naming no executable, exits 1 naming the variable and installs nothing", () => {
    const run = runScript({ CHROMIUM_PATH: join(dir, "nope") }, "fake");
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`CHROMIUM_PATH is set to ${join(dir, "nope")}`);
    expect(run.aptCalls).toEqual([]);
  });

  it("with a browser at CHROMIUM_PATH, exits 0 using it", () => {
    const browser = join(dir, "my-browser");
    writeFileSync(browser, "#!/bin/sh\n");
    chmodSync(browser, 0o755);
    const run = runScript({ CHROMIUM_PATH: browser }, "fake");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`browser tests will use ${browser} (CHROMIUM_PATH)`);
    expect(run.aptCalls).toEqual([]);
  });

  // Both branches are asserted: which one runs depends on the user the suite runs as.
  it(root ? "as root with apt-get: updates, installs chromium non-interactively, then finds it" : "as non-root without sudo: exits 1 with the sudo command and calls no apt-get", () => {
    const run = runScript({}, "fake");
    if (root) {
      expect(run.status).toBe(0);
      expect(run.aptCalls).toEqual(["update DEBIAN_FRONTEND=", "install -y chromium DEBIAN_FRONTEND=noninteractive"]);
      expect(run.stdout).toContain(`installed; browser tests will use ${join(run.bin, "chromium")}`);
    } else {
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(manualCommand(false));
      expect(run.aptCalls).toEqual([]);
    }
  });
});

describe("planInstall", () => {
  const sudoYes = () => true;
  it("installs directly as root, without asking sudo", () => {
    const sudo = vi.fn(sudoYes);
    expect(planInstall({ root: true, aptGet: "/usr/bin/apt-get", sudoWorks: sudo })).toEqual({ ok: true, prefix: [], aptGet: "/usr/bin/apt-get" });
    expect(sudo).not.toHaveBeenCalled();
  });

  it("installs through `sudo -n` when not root and sudo needs no password", () => {
    expect(planInstall({ root: false, aptGet: "/usr/bin/apt-get", sudoWorks: sudoYes })).toEqual({ ok: true, prefix: ["sudo", "-n"], aptGet: "/usr/bin/apt-get" });
  });

  it("stops with the sudo command when not root and sudo does not work", () => {
    expect(planInstall({ root: false, aptGet: "/usr/bin/apt-get", sudoWorks: () => false })).toEqual({
      ok: false,
      reason: "not running as root, and sudo is missing or asks for a password",
      command: "sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y chromium",
    });
  });

  it("stops without apt-get, whoever runs it", () => {
    expect(planInstall({ root: true, aptGet: null, sudoWorks: sudoYes })).toMatchObject({
      ok: false,
      command: "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium",
    });
    expect(planInstall({ root: false, aptGet: null, sudoWorks: sudoYes })).toMatchObject({ ok: false, reason: expect.stringContaining("apt-get") as string });
  });
});

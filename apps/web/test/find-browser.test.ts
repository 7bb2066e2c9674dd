// findBrowser against real files: fake "browsers" are small executable scripts in a temp dir, and
// PATH / CHROMIUM_PATH point at them, so the fs checks run for real on any machine.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BrowserConfigError, findBrowser, isExecutableFile } from "../scripts/find-browser.mjs";

const dir = mkdtempSync(join(tmpdir(), "find-browser-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(path: string, mode: number): string {
  const full = join(dir, path);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, "#!/bin/sh\nexit 0\n");
  chmodSync(full, mode);
  return full;
}
const exe = (path: string) => file(path, 0o755);

const explicit = exe("explicit/my-chrome");
const fixed = exe("fixed/chromium");
const notExecutable = file("plain/chromium", 0o644);
const binA = join(dir, "bin-a");
const binB = join(dir, "bin-b");
exe("bin-a/chromium-browser");
exe("bin-b/chromium");
exe("bin-c/google-chrome-stable");
file("bin-d/chromium", 0o644);
const channelExe = exe("opt/google/chrome/chrome");

// No channel lookup unless a test asks for one: the real one would see this machine's browsers.
const none = { fixedPaths: [], channels: [] };

describe("isExecutableFile", () => {
  it("accepts an executable file and refuses a plain file, a directory and a missing path", () => {
    expect(isExecutableFile(fixed)).toBe(true);
    expect(isExecutableFile(notExecutable)).toBe(false);
    expect(isExecutableFile(binA)).toBe(false);
    expect(isExecutableFile(join(dir, "missing"))).toBe(false);
  });
});

describe("findBrowser", () => {
  it("uses CHROMIUM_PATH first, before the fixed paths and PATH", () => {
    const found = findBrowser({ env: { CHROMIUM_PATH: explicit, PATH: binB }, fixedPaths: [fixed], channels: [] });
    expect(found).toEqual({ path: explicit, source: "CHROMIUM_PATH" });
  });

  it.each([
    ["a missing file", join(dir, "missing")],
    ["a file that is not executable", notExecutable],
    ["a directory", binA],
  ])("refuses a CHROMIUM_PATH naming %s, even when another browser exists", (_, path) => {
    const find = () => findBrowser({ env: { CHROMIUM_PATH: path, PATH: binB }, fixedPaths: [fixed], channels: [] });
    expect(find).toThrow(BrowserConfigError);
    expect(find).toThrow(`CHROMIUM_PATH is set to ${path}`);
  });

  it("refuses a relative CHROMIUM_PATH", () => {
    expect(() => findBrowser({ env: { CHROMIUM_PATH: "bin-b/chromium" }, ...none })).toThrow(/CHROMIUM_PATH must be an absolute path/);
  });

  it("treats an empty CHROMIUM_PATH as unset", () => {
    expect(findBrowser({ env: { CHROMIUM_PATH: "", PATH: binB }, ...none })?.path).toBe(join(binB, "chromium"));
  });

  it("uses a fixed path before PATH", () => {
    expect(findBrowser({ env: { PATH: binB }, fixedPaths: [join(dir, "missing"), fixed], channels: [] })).toEqual({ path: fixed, source: "default path" });
  });

  it("prefers chromium over chromium-browser on PATH, whatever the PATH order", () => {
    const found = findBrowser({ env: { PATH: [binA, binB].join(delimiter) }, ...none });
    expect(found).toEqual({ path: join(binB, "chromium"), source: "chromium on PATH" });
  });

  it("finds chromium-browser and google-chrome-stable, and skips a non-executable chromium", () => {
    expect(findBrowser({ env: { PATH: binA }, ...none })?.path).toBe(join(binA, "chromium-browser"));
    const path = [join(dir, "bin-d"), "relative/dir", join(dir, "bin-c")].join(delimiter);
    expect(findBrowser({ env: { PATH: path }, ...none })?.path).toBe(join(dir, "bin-c", "google-chrome-stable"));
  });

  it("falls back to a Chrome channel, in the order given, when the path it names is executable", () => {
    const paths: Record<string, string> = { chrome: join(dir, "missing"), "chrome-beta": channelExe };
    const channelPath = (channel: string) => paths[channel];
    const found = findBrowser({ env: { PATH: "" }, fixedPaths: [], channels: ["chrome", "chrome-beta"], channelPath });
    expect(found).toEqual({ path: channelExe, source: 'Chrome channel "chrome-beta" (playwright-core)' });
  });

  it("returns null when nothing is found", () => {
    expect(findBrowser({ env: { PATH: join(dir, "bin-d") }, fixedPaths: [notExecutable], channels: ["chrome"], channelPath: () => undefined })).toBeNull();
    expect(findBrowser({ env: {}, ...none })).toBeNull();
  });
});

describe("playwright-core's channel registry", () => {
  // playwrightChannelPath reads an internal module and treats any failure as "not found"; this
  // catches a playwright-core upgrade that moves it, which would otherwise go unnoticed.
  it("still offers findExecutable for the Chrome channels", () => {
    const bundle = createRequire(import.meta.url)("playwright-core/lib/coreBundle") as {
      registry: { registry: { findExecutable(name: string): { executablePath(sdk: string): unknown } | undefined } };
    };
    for (const channel of ["chrome", "chrome-beta", "chrome-dev", "chrome-canary"]) {
      expect(typeof bundle.registry.registry.findExecutable(channel)?.executablePath).toBe("function");
    }
  });
});

// Finds the Chromium or Chrome that the browser tests drive, in one order shared by the tests
// (test/browser.ts) and by the setup step that installs one when none is found
// (scripts/ensure-browser.mjs). Plain JavaScript so that the setup step runs on bare Node 20
// before anything is built.
import { accessSync, constants, statSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, isAbsolute, join } from "node:path";

/** Absolute paths tried after CHROMIUM_PATH: where Debian's `chromium` package puts it. */
export const FIXED_PATHS = ["/usr/bin/chromium"];
/** Names looked up on PATH, in order of preference. */
export const PATH_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
/** Chrome channels that playwright-core knows the install location of. */
export const CHROME_CHANNELS = ["chrome", "chrome-beta", "chrome-dev", "chrome-canary"];

/** A CHROMIUM_PATH that names no executable file: a setting to fix, not a reason to install. */
export class BrowserConfigError extends Error {
  name = "BrowserConfigError";
}

/**
 * @param {string} path
 * @returns {boolean} whether `path` is a regular file (after symlinks) that this user may execute
 */
export function isExecutableFile(path) {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const require = createRequire(import.meta.url);

/**
 * Asks playwright-core where a Chrome channel is installed, without launching it. Its registry is
 * internal, so any change there means "not found" rather than a crash; loaded only when the
 * cheaper candidates failed (it takes a second or two).
 * @param {string} channel
 * @returns {string | undefined}
 */
export function playwrightChannelPath(channel) {
  try {
    /** @type {unknown} */
    const loaded = require("playwright-core/lib/coreBundle");
    const bundle = /** @type {{ registry: { registry: { findExecutable(name: string): { executablePath(sdk: string): unknown } | undefined } } }} */ (loaded);
    const path = bundle.registry.registry.findExecutable(channel)?.executablePath("javascript");
    return typeof path === "string" ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @typedef {object} FindOptions
 * @property {Record<string, string | undefined>} [env] where CHROMIUM_PATH and PATH are read
 * @property {readonly string[]} [fixedPaths]
 * @property {readonly string[]} [names]
 * @property {readonly string[]} [channels]
 * @property {(channel: string) => string | undefined} [channelPath]
 */

/**
 * @typedef {object} FoundBrowser
 * @property {string} path the executable to launch
 * @property {string} source how it was found, for the log
 */

/**
 * The browser to use: CHROMIUM_PATH when set (it must be an absolute path to an executable file,
 * else BrowserConfigError), then the fixed paths, then the names on PATH, then the Chrome
 * channels playwright-core can find. null when there is none.
 * @param {FindOptions} [options]
 * @returns {FoundBrowser | null}
 */
export function findBrowser(options = {}) {
  const {
    env = process.env,
    fixedPaths = FIXED_PATHS,
    names = PATH_NAMES,
    channels = CHROME_CHANNELS,
    channelPath = playwrightChannelPath,
  } = options;

  // An empty value counts as unset, as `CHROMIUM_PATH= cmd` in a shell means.
  const configured = env.CHROMIUM_PATH;
  if (configured) {
    // Absolute only: turbo runs each task in its package's directory, so a relative path would
    // name different files for the setup step and for the tests.
    if (!isAbsolute(configured)) {
      throw new BrowserConfigError(`CHROMIUM_PATH must be an absolute path to a Chromium or Chrome executable; got a relative path`);
    }
    if (!isExecutableFile(configured)) {
      throw new BrowserConfigError(`CHROMIUM_PATH is set to ${configured}, which is not an executable file; fix it or unset it`);
    }
    return { path: configured, source: "CHROMIUM_PATH" };
  }

  for (const path of fixedPaths) {
    if (isExecutableFile(path)) return { path, source: "default path" };
  }

  const dirs = (env.PATH ?? "").split(delimiter).filter((dir) => isAbsolute(dir));
  for (const name of names) {
    for (const dir of dirs) {
      const path = join(dir, name);
      if (isExecutableFile(path)) return { path, source: `${name} on PATH` };
    }
  }

  for (const channel of channels) {
    const path = channelPath(channel);
    if (path && isExecutableFile(path)) return { path, source: `Chrome channel "${channel}" (playwright-core)` };
  }
  return null;
}

/** @returns {string} the places findBrowser looks, for error messages */
export function describeSearch() {
  return `CHROMIUM_PATH, ${FIXED_PATHS.join(", ")}, ${PATH_NAMES.join(" / ")} on PATH, Chrome channels (${CHROME_CHANNELS.join(", ")})`;
}

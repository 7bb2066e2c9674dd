// Setup step of the README's test command: the root `test` script runs it before turbo, so a
// fresh machine gets the browser the web tests drive without anything done by hand.
//
// - A browser is found (scripts/find-browser.mjs): print it and exit 0. No apt call, so it is quick.
// - None, and this process may install (root, or passwordless sudo) and apt-get exists: run
//   `apt-get update` and `DEBIAN_FRONTEND=noninteractive apt-get install -y chromium`, then look again.
// - Otherwise exit 1 at once with the exact command to run. Never exit 0 without a browser: that
//   would only move the failure into the browser suite, minutes later.
//
// Test-only overrides (test/ensure-browser.integration.test.ts), so that the "no browser" paths can be run on a
// machine that has one:
//   ENSURE_BROWSER_TEST_FIXED_PATHS  path-delimited list replacing /usr/bin/chromium ("" = none)
//   ENSURE_BROWSER_TEST_CHANNELS     comma-separated Chrome channels ("" = none)
//   ENSURE_BROWSER_TEST_APT_GET      the apt-get to run instead of the one on PATH
import { spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { BrowserConfigError, CHROME_CHANNELS, describeSearch, findBrowser, FIXED_PATHS, isExecutableFile } from "./find-browser.mjs";

const TAG = "ensure-browser:";

/**
 * The command a person runs by hand when this step may not install.
 * @param {boolean} root
 */
export function manualCommand(root) {
  const sudo = root ? "" : "sudo ";
  return `${sudo}apt-get update && ${sudo}DEBIAN_FRONTEND=noninteractive apt-get install -y chromium`;
}

/**
 * @typedef {{ ok: true, prefix: string[], aptGet: string } | { ok: false, reason: string, command: string }} InstallPlan
 */

/**
 * Whether and how to install: a pure decision, so every branch is tested without apt.
 * @param {{ root: boolean, aptGet: string | null, sudoWorks: () => boolean }} facts
 * @returns {InstallPlan}
 */
export function planInstall({ root, aptGet, sudoWorks }) {
  const command = manualCommand(root);
  if (!aptGet) return { ok: false, reason: "apt-get was not found (not a Debian-based system?)", command };
  if (root) return { ok: true, prefix: [], aptGet };
  // Asked only when needed: `sudo -n` fails instead of prompting for a password.
  if (sudoWorks()) return { ok: true, prefix: ["sudo", "-n"], aptGet };
  return { ok: false, reason: "not running as root, and sudo is missing or asks for a password", command };
}

/**
 * @param {Record<string, string | undefined>} env
 * @returns {string | null}
 */
function findAptGet(env) {
  const override = env.ENSURE_BROWSER_TEST_APT_GET;
  if (override !== undefined) return isExecutableFile(override) ? override : null;
  for (const dir of (env.PATH ?? "").split(delimiter).filter((d) => isAbsolute(d))) {
    if (isExecutableFile(join(dir, "apt-get"))) return join(dir, "apt-get");
  }
  return null;
}

function sudoWorks() {
  return spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0;
}

/**
 * @param {string | undefined} value
 * @param {string} separator
 * @param {readonly string[]} fallback
 */
function listOverride(value, separator, fallback) {
  return value === undefined ? fallback : value.split(separator).filter(Boolean);
}

/**
 * @param {string} reason
 * @param {string} command
 * @returns {never}
 */
function stop(reason, command) {
  console.error(`${TAG} cannot install Chromium here: ${reason}.`);
  console.error(`${TAG} run this, then the test command again:\n\n    ${command}\n`);
  console.error(`${TAG} or set CHROMIUM_PATH to the absolute path of a Chromium or Chrome executable.`);
  process.exit(1);
}

/**
 * Runs one command with its output shown, printed first so the log says what happened.
 * @param {string[]} argv
 * @param {Record<string, string | undefined>} env
 */
function run(argv, env) {
  console.log(`${TAG} running: ${argv.join(" ")}`);
  const [file = "", ...args] = argv;
  const result = spawnSync(file, args, { stdio: "inherit", env });
  return result.status === 0;
}

function main() {
  const env = process.env;
  const options = {
    env,
    fixedPaths: listOverride(env.ENSURE_BROWSER_TEST_FIXED_PATHS, delimiter, FIXED_PATHS),
    channels: listOverride(env.ENSURE_BROWSER_TEST_CHANNELS, ",", CHROME_CHANNELS),
  };
  const find = () => {
    try {
      return findBrowser(options);
    } catch (error) {
      // A wrong CHROMIUM_PATH is the user's explicit choice: report it, do not install around it.
      if (!(error instanceof BrowserConfigError)) throw error;
      console.error(`${TAG} ${error.message}`);
      process.exit(1);
    }
  };

  const found = find();
  if (found) {
    console.log(`${TAG} browser tests will use ${found.path} (${found.source})`);
    return;
  }

  console.log(`${TAG} no Chromium or Chrome found (looked at ${describeSearch()})`);
  const root = process.getuid?.() === 0;
  const plan = planInstall({ root, aptGet: findAptGet(env), sudoWorks });
  if (!plan.ok) stop(plan.reason, plan.command);

  console.log(`${TAG} installing Debian's chromium package`);
  if (!run([...plan.prefix, plan.aptGet, "update"], env)) {
    // A stale or unreachable mirror list need not stop the install: the cached lists may do.
    console.log(`${TAG} apt-get update failed; trying the install anyway`);
  }
  const installEnv = { ...env, DEBIAN_FRONTEND: "noninteractive" };
  // sudo resets the environment, so the variable is passed on its command line.
  const install = [...plan.prefix, ...(plan.prefix.length ? ["DEBIAN_FRONTEND=noninteractive"] : []), plan.aptGet, "install", "-y", "chromium"];
  if (!run(install, installEnv)) stop("apt-get install failed (see its output above)", manualCommand(root));

  const installed = find();
  if (!installed) stop("the chromium package was installed but no browser was found afterwards", manualCommand(root));
  console.log(`${TAG} installed; browser tests will use ${installed.path} (${installed.source})`);
}

// Run only as a script, so the test can import planInstall.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) main();

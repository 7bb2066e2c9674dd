// The one place the web tests get a browser from: every test that drives Chromium launches it
// here, so all of them look for it in the same order as the setup step that installs it.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { describeSearch, findBrowser } from "../scripts/find-browser.mjs";
import { startHttpApp, type HttpApp } from "./http-app";

/** Where the browser tests' screenshots land (apps/web/test-results). */
export const SHOTS = join(import.meta.dirname, "..", "test-results");

/** The executable to launch; throws (never skips) when there is none, saying how to get one. */
export function browserExecutable(): string {
  const found = findBrowser();
  if (!found) {
    throw new Error(
      `no Chromium or Chrome found (looked at ${describeSearch()}). ` +
        "Run `node apps/web/scripts/ensure-browser.mjs` from the repository root (the test command does) " +
        "or set CHROMIUM_PATH to the absolute path of one.",
    );
  }
  return found.path;
}

/** Headless Chromium as the browser tests use it (no sandbox: CI runs as root). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: browserExecutable(),
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** A full-page screenshot in SHOTS, `name`.png. */
export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Signs `userId` in through the sign-in page (the development users' password) and waits for the dashboard. */
export async function signInAs(page: Page, appUrl: string, userId: string): Promise<void> {
  await page.goto(`${appUrl}/sign-in`);
  await page.getByLabel("User").selectOption(userId);
  await page.getByLabel("Password").fill("tokenvault");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/connections/);
}

export interface BrowserApp {
  /** The production build on a database and simulator of its own (see http-app.ts). */
  app: HttpApp;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/**
 * A browser test's setup: the screenshots directory, the app (startHttpApp's arguments), Chromium
 * and one page whose every wait gives up after `timeoutMs`. Close it whatever happened: what
 * started is stopped, even when a later step failed.
 */
export async function startBrowserApp(
  label: string,
  options: { env?: Parameters<typeof startHttpApp>[1]; simulator?: Parameters<typeof startHttpApp>[2]; viewport?: { width: number; height: number }; timeoutMs?: number } = {},
): Promise<BrowserApp> {
  mkdirSync(SHOTS, { recursive: true });
  const app = await startHttpApp(label, options.env, options.simulator);
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    const context = await browser.newContext(options.viewport ? { viewport: options.viewport } : {});
    const page = await context.newPage();
    page.setDefaultTimeout(options.timeoutMs ?? 15_000);
    const opened = browser;
    return {
      app,
      browser: opened,
      context,
      page,
      async close() {
        await opened.close();
        await app.close();
      },
    };
  } catch (error) {
    await browser?.close();
    await app.close();
    throw error;
  }
}

// The one place the web tests get a browser from: every test that drives Chromium launches it
// here, so all of them look for it in the same order as the setup step that installs it.
import { chromium, type Browser, type Page } from "playwright-core";
import { describeSearch, findBrowser } from "../scripts/find-browser.mjs";

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

/** Signs `userId` in through the sign-in page (the development users' password) and waits for the dashboard. */
export async function signInAs(page: Page, appUrl: string, userId: string): Promise<void> {
  await page.goto(`${appUrl}/sign-in`);
  await page.getByLabel("User").selectOption(userId);
  await page.getByLabel("Password").fill("tokenvault");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/connections/);
}

/**
 * Shared fixtures and helpers for the journeys.
 *
 * - `baseURL` comes from the stack the global setup started.
 * - `guard` (automatic) collects console errors, page errors and failed requests from every
 *   page of every context a test opens (the default one and `visitorContext()`), attaches the
 *   full console log and the problems to the test's results when it fails, and fails the test
 *   when anything unexpected was logged. Aborted navigations (a download replacing the page,
 *   a redirect) are not failures. A test that provokes an error on purpose (an API answering
 *   403) declares it with `guard.allow(/pattern/)`.
 * - `capture(page, screen)` writes `<repo>/target/e2e-screenshots/<screen>-{light,dark}.png`
 *   and runs an axe-core scan in both colour schemes; serious and critical violations fail.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

import AxeBuilder from "@axe-core/playwright";
import {
  test as base,
  expect,
  type APIRequestContext,
  type Browser,
  type BrowserContext,
  type Page,
  type TestInfo,
} from "@playwright/test";

export { expect };

export const REPO = path.resolve(__dirname, "..", "..");
export const SCREENSHOTS = path.join(REPO, "target", "e2e-screenshots");

export function stackEnv(name: "FERRY_E2E_URL" | "FERRY_E2E_S3_URL" | "FERRY_E2E_DATA_DIR" | "FERRY_E2E_TMP"): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the global setup did not run`);
  return value;
}

export class Guard {
  readonly log: string[] = [];
  readonly problems: string[] = [];
  private allowed: RegExp[] = [];
  private started = Date.now();
  private navigations = new Map<Page, number>();
  private aborted: { line: string; page: Page; navigations: number }[] = [];

  /** Expect console errors matching `pattern` (matched against "text @ url"). */
  allow(pattern: RegExp): void {
    this.allowed.push(pattern);
  }

  watch(context: BrowserContext, label: string): void {
    const stamp = () => `+${((Date.now() - this.started) / 1000).toFixed(2)}s ${label}`;
    context.on("console", (msg) => {
      const where = msg.location()?.url ?? "";
      const line = `${msg.type()}: ${msg.text()}${where ? ` @ ${where}` : ""}`;
      this.log.push(`${stamp()} ${line}`);
      if (msg.type() === "error" && !this.allowed.some((p) => p.test(line))) {
        this.problems.push(`console ${line}`);
      }
    });
    context.on("weberror", (err) => {
      const e = err.error();
      const line = `page error: ${e.message}${e.stack ? `\n${e.stack}` : ""}`;
      this.log.push(`${stamp()} ${line}`);
      this.problems.push(line);
    });
    context.on("requestfailed", (request) => {
      const reason = request.failure()?.errorText ?? "unknown";
      const line = `request failed: ${request.method()} ${request.url()} (${reason})`;
      this.log.push(`${stamp()} ${line}`);
      if (this.allowed.some((p) => p.test(line))) return;
      if (reason === "net::ERR_ABORTED") {
        // A navigation that turned into a download or was replaced by the next one is fine,
        // and so is a subresource cut off because its page navigated away (judged at the end).
        if (request.isNavigationRequest()) return;
        const page = request.frame().page();
        this.aborted.push({ line, page, navigations: this.navigations.get(page) ?? 0 });
        return;
      }
      this.problems.push(line);
    });
    context.on("page", (page) => {
      page.on("framenavigated", (frame) => {
        if (frame !== page.mainFrame()) return;
        this.navigations.set(page, (this.navigations.get(page) ?? 0) + 1);
        this.log.push(`${stamp()} navigated to ${frame.url()}`);
      });
    });
  }

  /** Everything unexpected, once the test is over. */
  verdict(): string[] {
    const abortedWithoutNavigation = this.aborted
      .filter((a) => (this.navigations.get(a.page) ?? 0) === a.navigations)
      .map((a) => `${a.line} without a navigation`);
    return [...this.problems, ...abortedWithoutNavigation];
  }
}

type Fixtures = {
  guard: Guard;
  /** A fresh context with no session (someone who only has the link), watched by `guard`. */
  visitorContext: () => Promise<BrowserContext>;
};

export const test = base.extend<Fixtures>({
  baseURL: async ({}, use) => {
    await use(stackEnv("FERRY_E2E_URL"));
  },
  guard: [
    async ({ context }, use, testInfo) => {
      const guard = new Guard();
      guard.watch(context, "user");
      await use(guard);
      const failed = testInfo.status !== testInfo.expectedStatus;
      const problems = guard.verdict();
      if (failed || problems.length > 0) {
        // A file in the test's folder under test-results/, next to the failure screenshot.
        const file = testInfo.outputPath("console.log");
        fs.writeFileSync(file, `${guard.log.join("\n")}\n\nUnexpected:\n${problems.join("\n")}\n`);
        await testInfo.attach("console.log", { path: file, contentType: "text/plain" });
      }
      expect(problems, "console errors or failed requests").toEqual([]);
    },
    { auto: true },
  ],
  visitorContext: async ({ browser, guard }, use, testInfo) => {
    const opened: BrowserContext[] = [];
    await use(async () => {
      const context = await newContext(browser, testInfo);
      guard.watch(context, `visitor${opened.length + 1}`);
      opened.push(context);
      return context;
    });
    for (const [i, context] of opened.entries()) {
      if (testInfo.status !== testInfo.expectedStatus) {
        for (const [j, page] of context.pages().entries()) {
          const file = testInfo.outputPath(`visitor${i + 1}-page${j + 1}.png`);
          const shot = await page.screenshot({ path: file, fullPage: true }).catch(() => null);
          if (shot) await testInfo.attach(`visitor${i + 1}-page${j + 1}.png`, { path: file, contentType: "image/png" });
        }
      }
      await context.close();
    }
  },
});

async function newContext(browser: Browser, testInfo: TestInfo): Promise<BrowserContext> {
  const use = testInfo.project.use;
  return browser.newContext({
    viewport: use.viewport,
    userAgent: use.userAgent,
    deviceScaleFactor: use.deviceScaleFactor,
    colorScheme: "light",
    acceptDownloads: true,
    baseURL: stackEnv("FERRY_E2E_URL"),
  });
}

// ---------------------------------------------------------------------------------------------
// Screens: screenshots in light and dark, and axe in both.

const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

export async function capture(page: Page, screen: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const found: string[] = [];
  // A modal's backdrop covers the viewport only: shoot what a person sees, not the whole page.
  const fullPage = (await page.getByRole("dialog").count()) === 0;
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    // Let transitions on colour settle before the picture and the contrast checks.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 250))));
    await page.screenshot({ path: path.join(SCREENSHOTS, `${screen}-${scheme}.png`), fullPage });
    const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
    for (const v of results.violations) {
      if (v.impact !== "serious" && v.impact !== "critical") continue;
      const targets = v.nodes.slice(0, 5).map((n) => n.target.join(" ")).join(", ");
      found.push(`[${scheme}] ${v.impact} ${v.id}: ${v.help} (${v.nodes.length}× e.g. ${targets})`);
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  // Soft: the walk goes on and every screen's violations are reported together.
  expect.soft(found, `axe: serious or critical violations on "${screen}"`).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// Accounts.

export const PASSWORD = "ferry-e2e-Passw0rd";

export function newEmail(tag: string): string {
  return `${tag}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString("hex")}@example.com`;
}

/** A new account signed in through the local Cognito API, not the hosted UI: its bearer token. */
export async function apiSignIn(request: APIRequestContext, tag: string): Promise<string> {
  const config = await (await request.get("/config.json")).json();
  const cognito: string = config.cognito_endpoint;
  const endpoint = cognito.startsWith("http") ? cognito : `${stackEnv("FERRY_E2E_URL")}${cognito}`;
  const email = newEmail(tag);
  const idp = (target: string, body: object) =>
    request.post(endpoint, {
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AWSCognitoIdentityProviderService.${target}` },
      data: JSON.stringify(body),
    });
  expect((await idp("SignUp", { ClientId: config.client_id, Username: email, Password: PASSWORD, UserAttributes: [{ Name: "email", Value: email }] })).ok()).toBe(true);
  const auth = await idp("InitiateAuth", { ClientId: config.client_id, AuthFlow: "USER_PASSWORD_AUTH", AuthParameters: { USERNAME: email, PASSWORD } });
  expect(auth.ok()).toBe(true);
  return (await auth.json()).AuthenticationResult.AccessToken;
}

/** From a page showing the hosted-UI sign-in form: create an account there. */
export async function createAccountFromSignIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page.getByRole("heading", { name: "Create account" })).toBeVisible();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
}

/** A new user, signed in, on the files page. */
export async function signUp(page: Page, tag: string): Promise<string> {
  const email = newEmail(tag);
  await page.goto("/files");
  await createAccountFromSignIn(page, email);
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.getByRole("heading", { level: 1, name: "Your files" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  return email;
}

// ---------------------------------------------------------------------------------------------
// Files.

export function tmpFile(name: string): string {
  return path.join(stackEnv("FERRY_E2E_TMP"), name);
}

/** A file of `size` random bytes; returns its path and SHA-256 (hex). */
export function randomFile(name: string, size: number): { path: string; sha256: string } {
  const file = tmpFile(name);
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "w");
  const block = crypto.randomBytes(Math.min(size, 1024 * 1024));
  let left = size;
  let round = 0;
  while (left > 0) {
    // Vary each block so no two MiB are alike.
    const chunk = Buffer.from(block.subarray(0, Math.min(left, block.length)));
    chunk.writeUInt32LE(round++, 0);
    fs.writeSync(fd, chunk);
    hash.update(chunk);
    left -= chunk.length;
  }
  fs.closeSync(fd);
  return { path: file, sha256: hash.digest("hex") };
}

/** A file of `size` bytes that takes no disk space (zeros); for limit checks. */
export function sparseFile(name: string, size: number): string {
  const file = tmpFile(name);
  const fd = fs.openSync(file, "w");
  fs.ftruncateSync(fd, size);
  fs.closeSync(fd);
  return file;
}

/** What Python's zipfile reads in `zip`: the first bad CRC (or null) and each entry's path, size and SHA-256. */
export function readZip(zip: string): { bad: string | null; entries: [string, number, string][] } {
  const script = [
    "import hashlib, json, sys, zipfile",
    "z = zipfile.ZipFile(sys.argv[1])",
    "print(json.dumps({'bad': z.testzip(), 'entries': [[i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]}))",
  ].join("\n");
  return JSON.parse(execFileSync("python3", ["-c", script, zip], { encoding: "utf8" }));
}

export function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

export function dropZone(page: Page) {
  return page.getByRole("button", { name: /Drop files/ });
}

/** Picks files the way a person does: click the drop zone, choose in the file dialog. */
export async function pickFiles(page: Page, files: string[]): Promise<void> {
  const chooser = page.waitForEvent("filechooser");
  await dropZone(page).click();
  await (await chooser).setFiles(files);
}

/** Drops in-page files (name, size, a byte pattern) on the drop zone with a real DataTransfer. */
export async function dropFiles(page: Page, files: { name: string; size: number; type?: string }[]): Promise<void> {
  const zone = dropZone(page);
  const dataTransfer = await page.evaluateHandle((specs) => {
    const dt = new DataTransfer();
    for (const spec of specs) {
      const bytes = new Uint8Array(spec.size);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + spec.name.length) & 0xff;
      dt.items.add(new File([bytes], spec.name, { type: spec.type ?? "application/octet-stream" }));
    }
    return dt;
  }, files);
  await zone.dispatchEvent("dragenter", { dataTransfer });
  await zone.dispatchEvent("dragover", { dataTransfer });
  await zone.dispatchEvent("drop", { dataTransfer });
  await dataTransfer.dispose();
}

/**
 * Records every value each progress bar shows, by its accessible name, until the page reloads
 * (read them with `progressSeen`).
 */
export async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, number[]> = {};
    (window as unknown as { __progress: typeof seen }).__progress = seen;
    const note = (el: Element) => {
      if (el.getAttribute("role") !== "progressbar") return;
      const name = el.getAttribute("aria-label") ?? "";
      const value = Number(el.getAttribute("aria-valuenow"));
      const values = (seen[name] ??= []);
      if (values[values.length - 1] !== value) values.push(value);
    };
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === "attributes") note(r.target as Element);
        for (const n of r.addedNodes) {
          if (n instanceof Element) [n, ...n.querySelectorAll("[role=progressbar]")].forEach(note);
        }
      }
    }).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["aria-valuenow", "aria-label"],
    });
  });
}

/** What `recordProgress` saw since it was installed in this document, by progress bar name. */
export async function progressSeen(page: Page): Promise<Record<string, number[]>> {
  return page.evaluate(() => (window as unknown as { __progress?: Record<string, number[]> }).__progress ?? {});
}

/** The row of a file in the "Files" list. */
export function fileRow(page: Page, name: string) {
  return page.getByRole("list", { name: "Files" }).getByRole("listitem").filter({ hasText: name });
}

/** Waits until `name` is listed as ready (its Download button shows). */
export async function expectReady(page: Page, name: string, timeout = 60_000): Promise<void> {
  await expect(page.getByRole("button", { name: `Download ${name}` })).toBeVisible({ timeout });
}

/** Opens the share dialog for `name`, fills it, creates the link and returns its URL. */
export async function createShare(
  page: Page,
  name: string,
  options: { maxDownloads?: number; password?: string } = {},
): Promise<string> {
  await page.getByRole("button", { name: `Share ${name}` }).click();
  const dialog = page.getByRole("dialog", { name: `Share “${name}”` });
  await expect(dialog).toBeVisible();
  if (options.maxDownloads !== undefined) {
    await dialog.getByRole("checkbox", { name: "Limit downloads to" }).check();
    await dialog.getByRole("spinbutton", { name: "Maximum downloads" }).fill(String(options.maxDownloads));
  }
  if (options.password !== undefined) {
    await dialog.getByLabel("Password").fill(options.password);
  }
  await dialog.getByRole("button", { name: "Create link" }).click();
  const link = dialog.getByRole("textbox", { name: "Share link" });
  await expect(link).toHaveValue(/\/s\/[A-Za-z0-9_-]+$/);
  const url = await link.inputValue();
  await expect(dialog.getByRole("button", { name: "Copy link" })).toBeVisible();
  return url;
}

export async function closeDialog(page: Page, name: string | RegExp): Promise<void> {
  const dialog = page.getByRole("dialog", { name });
  await dialog.getByRole("button", { name: "Done" }).click();
  await expect(dialog).toBeHidden();
}

/** Every file under `dir`, recursively. */
export function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

/** Objects of the local S3 endpoint's bucket whose bytes hash to `sha` (the data dir on disk). */
export function objectsWithHash(sha: string): string[] {
  const bucket = path.join(stackEnv("FERRY_E2E_DATA_DIR"), "s3", "ferry-files");
  return walk(bucket).filter((file) => {
    const stat = fs.statSync(file);
    return stat.size > 0 && crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex") === sha;
  });
}

/**
 * Lets `page` leave while uploads run: the app asks before a reload or a page load cuts one off
 * (a `beforeunload` dialog, which Playwright would dismiss, cancelling the navigation). Tests that
 * reload mid-upload on purpose accept it; any other dialog is dismissed as by default.
 */
export function acceptLeaving(page: Page): void {
  page.on("dialog", (dialog) => void (dialog.type() === "beforeunload" ? dialog.accept() : dialog.dismiss()));
}

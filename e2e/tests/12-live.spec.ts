/**
 * Live updates: the backend tells the page what happened, over one WebSocket per tab (`/live`).
 * Two tabs of one person see each other's uploads settle; an owner sees a stranger's download
 * on the links page as it happens; and while the socket is down, the files page asks with one
 * list request per polling interval however many files are pending.
 */
import { type Page, type Request } from "@playwright/test";

import { closeDialog, createShare, expect, expectReady, fileRow, pickFiles, randomFile, signUp, test } from "./fixtures";

/** The interval of the files page's polling fallback (`POLL_EVERY` in app/src/pages/files.rs). */
const POLL_EVERY_MS = 2_000;

/** Opens `path` in another tab of the same browser with this tab's session, as a duplicated tab has. */
async function secondTab(page: Page, path: string): Promise<Page> {
  const session = await page.evaluate(() => sessionStorage.getItem("ferry.session"));
  expect(session).toBeTruthy();
  const tab = await page.context().newPage();
  await tab.addInitScript((value) => sessionStorage.setItem("ferry.session", value), session!);
  await tab.goto(path);
  return tab;
}

test("an upload in one tab shows as ready in another tab of the same person without a reload", async ({ page }) => {
  await signUp(page, "live-tabs");
  const other = await secondTab(page, "/files");
  await expect(other.getByRole("heading", { level: 1, name: "Your files" })).toBeVisible();
  await expect(other.getByText("No files yet")).toBeVisible();
  // Both tabs listen before the upload settles (the app marks <html data-live="open">).
  await expect(page.locator("html")).toHaveAttribute("data-live", "open");
  await expect(other.locator("html")).toHaveAttribute("data-live", "open");
  let reloads = 0;
  other.on("framenavigated", (frame) => {
    if (frame === other.mainFrame()) reloads += 1;
  });
  const listRequests: string[] = [];
  other.on("request", (r) => {
    if (r.method() === "GET" && new URL(r.url()).pathname === "/api/files") listRequests.push(r.url());
  });

  const file = randomFile("live-slides.pdf", 150_000);
  await pickFiles(page, [file.path]);
  await expectReady(page, "live-slides.pdf");

  // The other tab learns it from the socket: no navigation, no polling (nothing was pending there).
  await expectReady(other, "live-slides.pdf", 10_000);
  await expect(fileRow(other, "live-slides.pdf")).toBeVisible();
  expect(reloads).toBe(0);
  expect(listRequests).toEqual([]);
  await other.close();
});

test("a stranger's download shows on the owner's links page with a notice, as it happens", async ({ page, visitorContext }, testInfo) => {
  await signUp(page, "live-links");
  const file = randomFile("slides.pdf", 200_000);
  await pickFiles(page, [file.path]);
  await expectReady(page, "slides.pdf");
  const url = await createShare(page, "slides.pdf", { maxDownloads: 5 });
  await closeDialog(page, "Share “slides.pdf”");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My links" }).click();
  const row = page.getByRole("list", { name: "Share links" }).getByRole("listitem").filter({ hasText: "slides.pdf" });
  await expect(row).toContainText("0 of 5 downloads");
  await expect(page.locator("html")).toHaveAttribute("data-live", "open");
  // The links page never polls: whatever changes below came over the socket.
  const shareListRequests: Request[] = [];
  page.on("request", (r) => {
    if (new URL(r.url()).pathname === "/api/shares") shareListRequests.push(r);
  });

  const visitor = await (await visitorContext()).newPage();
  await visitor.goto(url);
  await expect(visitor.getByRole("heading", { level: 1, name: "slides.pdf" })).toBeVisible();
  const downloading = visitor.waitForEvent("download");
  await visitor.getByRole("button", { name: "Download" }).click();
  await downloading;
  const downloaded = Date.now();

  await expect(row).toContainText("1 of 5 downloads", { timeout: 3_000 });
  const notice = page.getByRole("status").filter({ hasText: "slides.pdf was downloaded" });
  await expect(notice).toBeVisible({ timeout: 3_000 });
  testInfo.annotations.push({ type: "download to count and notice", description: `${Date.now() - downloaded} ms` });
  console.log(`live: download to count and notice on the owner's page in ${Date.now() - downloaded} ms`);
  expect(shareListRequests).toEqual([]);
  await expect(page).toHaveURL(/\/links$/);
});

test("with 20 pending files and the socket down, the files page makes at most one list request per polling interval", async ({ page, context }) => {
  // Every live socket is refused at once, so the page falls back to polling.
  let refused = 0;
  await context.routeWebSocket(/\/live$/, (ws) => {
    refused += 1;
    ws.close();
  });
  await signUp(page, "live-poll");
  // Twenty uploads announced (pending) whose bytes never come, made with this tab's session.
  const session = JSON.parse((await page.evaluate(() => sessionStorage.getItem("ferry.session")))!);
  for (let i = 0; i < 20; i++) {
    const res = await page.request.post("/api/uploads", {
      headers: { authorization: `Bearer ${session.access_token}` },
      data: { name: `pending-${i}.bin`, size: 1000 + i },
    });
    expect(res.status()).toBe(201);
  }

  const lists: number[] = [];
  const perFile: string[] = [];
  page.on("request", (r) => {
    if (r.method() !== "GET") return;
    const path = new URL(r.url()).pathname;
    if (path === "/api/files") lists.push(Date.now());
    else if (/^\/api\/files\/[^/]+$/.test(path)) perFile.push(path);
  });
  const started = Date.now();
  await page.reload();
  await expect(fileRow(page, "pending-19.bin")).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("data-live", "closed");
  // Wait for four polls beyond the first load.
  await expect.poll(() => lists.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(5);
  const elapsed = Date.now() - started;
  console.log(
    `live fallback: ${lists.length} list requests in ${elapsed} ms with 20 pending files, ${perFile.length} per-file requests, ${refused} sockets refused`,
  );

  expect(refused).toBeGreaterThan(0);
  expect(perFile, "no request per pending file").toEqual([]);
  // The first load, then at most one per interval.
  expect(lists.length).toBeLessThanOrEqual(1 + Math.floor(elapsed / POLL_EVERY_MS));
  for (let i = 2; i < lists.length; i++) {
    // Consecutive polls are an interval apart (timer jitter aside), never a burst.
    expect(lists[i] - lists[i - 1]).toBeGreaterThan(POLL_EVERY_MS / 2);
  }
});

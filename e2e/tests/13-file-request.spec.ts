/**
 * File requests: an owner asks for files; a guest with only the link sends a folder (one file in
 * parts), reloads half-way and resumes; the owner watches the files arrive; the guest reaches
 * nothing else; once the owner closes the request, the guest's page says so.
 *
 * The reload comes while one part PUT is held back (the test answers it never), so the upload is
 * stalled half-way whatever the machine's speed; after the reload that part goes for real.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import type { Page, Route } from "@playwright/test";

import { MiB } from "../limits";
import { acceptLeaving, capture, expect, expectReady, pickFiles, randomFile, signUp, stackEnv, test } from "./fixtures";

const TITLE = "Scans please";
/** Above the stack's multipart threshold (64 MiB): sent in parts of 8 MiB. */
const BIG = 70 * MiB;
const HELD_PART = "3";

function makeFolder(root: string, files: Record<string, number>): void {
  fs.rmSync(root, { recursive: true, force: true });
  for (const [relative, size] of Object.entries(files)) {
    const target = path.join(root, relative);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(randomFile(`req-${relative.replaceAll("/", "_")}`, size).path, target);
  }
}

/** Picks a folder with the keyboard: "Upload a folder", Enter, the folder in the dialog. */
async function pickFolder(page: Page, root: string): Promise<void> {
  const chooser = page.waitForEvent("filechooser");
  await page.getByRole("button", { name: "Upload a folder" }).focus();
  await page.keyboard.press("Enter");
  await (await chooser).setFiles(root);
}

test("a guest sends a folder through a request, resumes after a reload, reaches nothing else, and sees the request closed", async ({ page, guard, visitorContext }) => {
  test.setTimeout(240_000);
  const owner = await signUp(page, "request-owner");
  expect(owner).toContain("@");

  // A file of the owner's own, which the guest must not reach.
  const mine = randomFile("owner-only.txt", 2_000);
  const ownUpload = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/api/uploads"));
  await pickFiles(page, [mine.path]);
  const ownFileId: string = (await (await ownUpload).json()).file.id;
  // Requests is the app's other entry (a page load of its own): the file is stored first.
  await expectReady(page, "owner-only.txt");

  // The owner makes a request from the keyboard-reachable nav and dialog.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Requests" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "File requests" })).toBeVisible();
  await expect(page.getByText("No requests yet")).toBeVisible();
  await expect(page).toHaveTitle("File requests · Ferry");
  await capture(page, "requests-empty");
  await page.getByRole("button", { name: "New request" }).focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "New file request" });
  await dialog.getByLabel("Title").fill(TITLE);
  await dialog.getByLabel(/^Message/).fill("The receipts for 2026, please.");
  await dialog.getByRole("radio", { name: "100 MB" }).check();
  await capture(page, "request-dialog");
  await dialog.getByRole("button", { name: "Create request" }).click();
  const link = dialog.getByRole("textbox", { name: "Request link" });
  await expect(link).toHaveValue(/\/r\/[A-Za-z0-9_-]{22,}$/);
  const url = await link.inputValue();
  const token = new URL(url).pathname.split("/").pop()!;
  await expect(dialog.getByRole("button", { name: "Copy link" })).toBeVisible();
  await expect(dialog.getByRole("img", { name: "QR code of the request link" })).toBeVisible();
  await capture(page, "request-created");
  await dialog.getByRole("button", { name: "Done" }).click();
  await expect(dialog).toBeHidden();
  const row = page.getByRole("list", { name: "File requests" }).getByRole("listitem").filter({ hasText: TITLE });
  await expect(row).toContainText("0 of 20 files");
  await expect(row).toContainText("Open");

  // The owner waits on the files page; the guest opens the link in a fresh context.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Files" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Your files" })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("data-live", "open");
  let ownerReloads = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) ownerReloads += 1;
  });

  const root = path.join(stackEnv("FERRY_E2E_TMP"), "Belege");
  makeFolder(root, { "video.bin": BIG, "notes/a.txt": 1_500 });
  const guestContext = await visitorContext();
  const guest = await guestContext.newPage();
  await guest.goto(url);
  await expect(guest.getByRole("heading", { level: 1, name: TITLE })).toBeVisible();
  await expect(guest.getByText("The receipts for 2026, please.")).toBeVisible();
  await expect(guest.getByText(/20 files and .* left/)).toBeVisible();
  await expect(guest).toHaveTitle(`${TITLE} · Ferry`);
  await expect(guest.getByRole("link", { name: "Files" })).toHaveCount(0);

  // A name and a note first: the owner sees them beside every file.
  await guest.getByLabel(/^Your name/).fill("Ana");
  await guest.getByLabel(/^A note for the owner/).fill("the last ones");
  await guest.getByRole("button", { name: "Save name and note" }).click();
  await expect(guest.getByText("Saved.")).toBeVisible();

  // One part is held back: the upload stalls half-way and the page reloads then.
  let held!: () => void;
  const heldSeen = new Promise<void>((resolve) => (held = resolve));
  const isHeld = (u: URL) => u.searchParams.get("partNumber") === HELD_PART;
  const hold = (_route: Route) => held();
  await guest.route(isHeld, hold);
  let reloading = true;
  const cutOff = /^request failed: (PUT \S+partNumber=\d+\S*|POST \S+\/api\/public\/requests\/\S+\/parts) \(net::ERR_ABORTED\)$/;
  guard.allow(Object.assign(new RegExp(cutOff), { test: (line: string) => reloading && cutOff.test(line) }));
  await pickFolder(guest, root);
  await heldSeen;
  const panel = guest.getByRole("region", { name: "Uploads", exact: true });
  const sent = guest.getByRole("list", { name: "Files you sent" });
  await expect(sent.getByRole("listitem").filter({ hasText: "Belege/notes/a.txt" })).toBeVisible({ timeout: 30_000 });
  await capture(guest, "request-guest-uploading");
  acceptLeaving(guest);
  await guest.reload();
  await guest.unroute(isHeld, hold);
  await expect(guest.getByRole("heading", { level: 1, name: TITLE })).toBeVisible();
  const unfinished = guest.getByRole("region", { name: "Unfinished uploads" });
  await expect(unfinished).toContainText("Belege/video.bin");
  reloading = false;

  // The same folder again: the big file resumes from the parts storage holds.
  await pickFolder(guest, root);
  await expect(panel.getByRole("listitem").filter({ hasText: "Belege/video.bin" })).toContainText(/Resuming — \d+ of \d+ parts already uploaded/);
  await expect(sent.getByRole("listitem").filter({ hasText: "Belege/video.bin" })).toContainText("Received", { timeout: 120_000 });
  // The small file went twice (picked twice): the guest removes one copy.
  const copies = sent.getByRole("listitem").filter({ hasText: "Belege/notes/a.txt" });
  await expect(copies).toHaveCount(2);
  await copies.first().getByRole("button", { name: "Remove Belege/notes/a.txt" }).click();
  await expect(copies).toHaveCount(1);
  await capture(guest, "request-guest-sent");

  // The owner saw them arrive, with the request and the guest's words, and never reloaded.
  const folder = page.getByRole("list", { name: "Files" }).getByRole("button", { name: "Belege", exact: true });
  await expect(folder).toBeVisible({ timeout: 30_000 });
  await folder.click();
  const arrived = page.getByRole("list", { name: "Files" }).getByRole("listitem").filter({ hasText: "video.bin" });
  await expect(arrived).toContainText(`Via “${TITLE}” · from Ana: “the last ones”`, { timeout: 30_000 });
  await expect(page.getByRole("button", { name: "Download video.bin" })).toBeVisible();
  expect(ownerReloads).toBe(0);
  await capture(page, "files-request-arrivals");

  // The guest reaches nothing else: no account routes, not the owner's file, not as a share.
  const api = guestContext.request;
  const key = await guest.evaluate((t) => localStorage.getItem(`ferry.guest.${t}`), token);
  expect(key).toBeTruthy();
  const asGuest = { headers: { "x-ferry-guest": key! } };
  expect((await api.get("/api/files")).status()).toBe(401);
  expect((await api.get(`/api/files/${ownFileId}/download`)).status()).toBe(401);
  expect((await api.get(`/api/public/requests/${token}/files`)).status()).toBe(401);
  expect((await api.get(`/api/public/requests/${token}/files/${ownFileId}/parts`, asGuest)).status()).toBe(404);
  expect((await api.delete(`/api/public/requests/${token}/files/${ownFileId}`, asGuest)).status()).toBe(404);
  // A request's token is no share link either.
  expect([400, 404]).toContain((await api.get(`/api/public/shares/${token}`)).status());
  const listed = await (await api.get(`/api/public/requests/${token}/files`, asGuest)).json();
  expect(listed.files.map((f: { id: string }) => f.id)).not.toContain(ownFileId);

  // The owner closes the request; the guest's page says so and offers no uploads.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Requests" }).click();
  await expect(row).toContainText("2 of 20 files");
  await row.getByRole("button", { name: `Close ${TITLE}` }).click();
  await expect(row).toContainText("Closed");
  await expect(row.getByRole("button", { name: `Reopen ${TITLE}` })).toBeVisible();
  await capture(page, "requests-list");
  await guest.reload();
  await expect(guest.getByText("This request is closed: its owner is not accepting files now.")).toBeVisible();
  await expect(guest.getByRole("button", { name: /Drop files/ })).toHaveCount(0);
  await expect(guest.getByRole("button", { name: /^Remove/ })).toHaveCount(0);
  await capture(guest, "request-guest-closed");
  const refused = await api.post(`/api/public/requests/${token}/uploads`, {
    ...asGuest,
    data: { name: "late.txt", size: 10 },
  });
  expect(refused.status()).toBe(403);
  expect((await refused.json()).error.code).toBe("request_closed");
  fs.rmSync(root, { recursive: true, force: true });
});

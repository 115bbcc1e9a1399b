import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

import { capture, closeDialog, createShare, expect, expectReady, pickFiles, randomFile, sha256, signUp, test, tmpFile } from "./fixtures";

test("a link with a download limit of 1 and a password: wrong password refused, one download with the right bytes, then refused", async ({ page, visitorContext, guard }) => {
  // The refusals are API answers (403 wrong password, 410 used up); the browser logs them.
  guard.allow(/Failed to load resource: the server responded with a status of (403|410)\b.* @ .*\/api\/public\/shares\//);

  await signUp(page, "share");
  const original = randomFile("quarterly-report.pdf", 1_234_567);
  await pickFiles(page, [original.path]);
  await expectReady(page, "quarterly-report.pdf");

  const url = await createShare(page, "quarterly-report.pdf", { maxDownloads: 1, password: "open sesame 7" });
  const dialog = page.getByRole("dialog", { name: "Share “quarterly-report.pdf”" });
  await expect(dialog).toContainText("1 download");
  await expect(dialog).toContainText("Password protected");
  await expect(dialog.getByRole("img", { name: "QR code of the share link" })).toBeVisible();
  await closeDialog(page, "Share “quarterly-report.pdf”");
  expect(new URL(url).origin).toBe(new URL(page.url()).origin);

  // Someone with only the link, in a browser with no session: until the password is given, the
  // page (and the API behind it) tells nothing about the file.
  const visitor = await (await visitorContext()).newPage();
  const token = new URL(url).pathname.split("/").pop();
  const viewed = visitor.waitForResponse((r) => r.url().endsWith(`/api/public/shares/${token}`));
  await visitor.goto(url);
  expect(await (await viewed).json()).toEqual({ expires_at: expect.any(String), requires_password: true });
  await expect(visitor.getByRole("heading", { level: 1, name: "This file is protected" })).toBeVisible();
  await expect(visitor.getByText("Password protected")).toBeVisible();
  await expect(visitor.locator("body")).not.toContainText("quarterly-report");
  await expect(visitor.locator("body")).not.toContainText(/1\.2 MiB|download left|SHA-256/);
  await expect(visitor.getByRole("button", { name: "Download" })).toHaveCount(0);
  await capture(visitor, "public-share-password");

  // A wrong password is refused and shows nothing more.
  await visitor.getByLabel("Password").fill("not it");
  await visitor.getByRole("button", { name: "Unlock" }).click();
  await expect(visitor.getByRole("alert")).toHaveText("That password is not right.");
  await capture(visitor, "public-share-wrong-password");
  await expect(visitor.locator("body")).not.toContainText("quarterly-report");

  // The right one shows the file, uses up nothing, and downloads the very same bytes.
  await visitor.getByLabel("Password").fill("open sesame 7");
  await visitor.getByRole("button", { name: "Unlock" }).click();
  await expect(visitor.getByRole("heading", { level: 1, name: "quarterly-report.pdf" })).toBeVisible();
  await expect(visitor.getByText("1 download left")).toBeVisible();
  await expect(visitor.getByText("1.2 MiB")).toBeVisible();
  await expect(visitor.getByLabel("Password")).toHaveCount(0);
  const downloading = visitor.waitForEvent("download");
  await visitor.getByRole("button", { name: "Download" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("quarterly-report.pdf");
  const saved = tmpFile(path.join("downloaded-quarterly-report.pdf"));
  await download.saveAs(saved);
  expect(sha256(saved)).toBe(original.sha256);
  await expect(visitor.getByText("That was the last download this link allows.")).toBeVisible();

  // The limit is spent: opening the link again says so, in words.
  await visitor.reload();
  await expect(visitor.getByRole("heading", { level: 1, name: "This link has been used up" })).toBeVisible();
  await expect(visitor.getByRole("button", { name: "Download" })).toHaveCount(0);
  await capture(visitor, "public-share-used-up");
  // Not only the page: the API refuses a second download, even with the right password.
  const again = await visitor.request.post(`/api/public/shares/${token}/download`, { data: { password: "open sesame 7" } });
  expect(again.status()).toBe(410);
  expect((await again.json()).error.code).toBe("share_exhausted");

  // The owner sees the use on the links page.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My links" }).click();
  const row = page.getByRole("list", { name: "Share links" }).getByRole("listitem").filter({ hasText: "quarterly-report.pdf" });
  await expect(row).toContainText("1 of 1 downloads");
  await expect(row).toContainText("Used up");
});

test("the public page's verify command quotes a hostile file name: pasted into a shell, it only prints the checksum", async ({ page, visitorContext }) => {
  await signUp(page, "quote");
  const name = "report'$(id>pwned)'.txt";
  const original = randomFile(name, 3_000);
  await pickFiles(page, [original.path]);
  await expectReady(page, name);
  const url = await createShare(page, name);
  await closeDialog(page, `Share “${name}”`);

  const visitor = await (await visitorContext()).newPage();
  await visitor.goto(url);
  await expect(visitor.getByRole("heading", { level: 1, name })).toBeVisible();
  await visitor.getByText("Verify the download").click();
  const hint = visitor.getByText(/openssl dgst/);
  await expect(hint).toBeVisible();
  const text = (await hint.textContent()) ?? "";
  const command = text.slice(text.indexOf("openssl"));
  expect(command).toBe(`openssl dgst -sha256 -binary 'report'\\''$(id>pwned)'\\''.txt' | base64`);

  // Pasted where the file was saved, the command prints the checksum the page shows and runs
  // nothing else.
  const dir = fs.mkdtempSync(tmpFile("paste-"));
  fs.copyFileSync(original.path, path.join(dir, name));
  const printed = execFileSync("sh", ["-c", command], { cwd: dir }).toString().trim();
  await expect(visitor.locator("details.checksum code")).toHaveText(printed);
  expect(fs.readdirSync(dir)).toEqual([name]);
});

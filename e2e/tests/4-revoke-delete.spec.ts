import * as fs from "node:fs";

import { closeDialog, createShare, expect, expectReady, fileRow, objectsWithHash, pickFiles, randomFile, signUp, test } from "./fixtures";

test("revoking a link turns it off; deleting a file kills its links and removes its bytes from storage", async ({ page, visitorContext, guard }) => {
  // Opening a revoked or dead link is answered 410/404 by the API; the browser logs that.
  guard.allow(/Failed to load resource: the server responded with a status of (404|410)\b.* @ .*\/api\/public\/shares\//);

  await signUp(page, "revoke");
  const keep = randomFile("keep-me.txt", 40_000);
  const gone = randomFile("delete-me.txt", 50_000);
  await pickFiles(page, [keep.path, gone.path]);
  await expectReady(page, "keep-me.txt");
  await expectReady(page, "delete-me.txt");

  const keepLink = await createShare(page, "keep-me.txt");
  await closeDialog(page, "Share “keep-me.txt”");
  const goneLink = await createShare(page, "delete-me.txt");
  await closeDialog(page, "Share “delete-me.txt”");

  const visitor = await (await visitorContext()).newPage();
  await visitor.goto(keepLink);
  await expect(visitor.getByRole("heading", { level: 1, name: "keep-me.txt" })).toBeVisible();

  // Revoke from "My links".
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My links" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "My links" })).toBeVisible();
  const links = page.getByRole("list", { name: "Share links" }).getByRole("listitem");
  await expect(links).toHaveCount(2);
  const keepRow = links.filter({ hasText: "keep-me.txt" });
  await expect(keepRow).toContainText("Active");
  await keepRow.getByRole("button", { name: "Revoke link to keep-me.txt" }).click();
  const confirm = page.getByRole("dialog", { name: "Revoke this link?" });
  await expect(confirm).toContainText("keep-me.txt");
  await confirm.getByRole("button", { name: "Revoke" }).click();
  await expect(confirm).toBeHidden();
  await expect(keepRow).toContainText("Revoked");
  await expect(keepRow.getByRole("button", { name: /Revoke/ })).toHaveCount(0);

  // The visitor's page says the link was turned off.
  await visitor.reload();
  await expect(visitor.getByRole("heading", { level: 1, name: "This link was turned off" })).toBeVisible();
  await expect(visitor.getByRole("button", { name: "Download" })).toHaveCount(0);

  // The bytes of the file to delete are in the local S3 endpoint's bucket.
  const stored = objectsWithHash(gone.sha256);
  expect(stored, "the uploaded object on disk").toHaveLength(1);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Files" }).click();
  await page.getByRole("button", { name: "Delete delete-me.txt" }).click();
  const del = page.getByRole("dialog", { name: "Delete this file?" });
  await expect(del).toContainText("every link to it will stop working");
  await del.getByRole("button", { name: "Delete" }).click();
  await expect(del).toBeHidden();
  await expect(fileRow(page, "delete-me.txt")).toHaveCount(0);
  await expect(fileRow(page, "keep-me.txt")).toHaveCount(1);

  // Its link is dead, and its object is gone from storage.
  await visitor.goto(goneLink);
  await expect(visitor.getByRole("heading", { level: 1, name: "This link doesn't exist" })).toBeVisible();
  await expect.poll(() => stored.filter((file) => fs.existsSync(file)), { timeout: 10_000 }).toEqual([]);
  expect(objectsWithHash(gone.sha256)).toEqual([]);
  // The other file is untouched.
  expect(objectsWithHash(keep.sha256)).toHaveLength(1);

  // After a reload the deleted file stays gone (the server forgot it too).
  await page.reload();
  await expectReady(page, "keep-me.txt");
  await expect(fileRow(page, "delete-me.txt")).toHaveCount(0);
});

import type { Route } from "@playwright/test";

import { dropFiles, dropZone, expect, expectReady, fileRow, objectsWithHash, pickFiles, randomFile, recordProgress, signUp, test } from "./fixtures";
import { MiB } from "../limits";

test("drop several files and pick a 100 MB one: progress reaches 100 % and all become ready without reloading", async ({ page }) => {
  await signUp(page, "upload");
  await expect(page.getByRole("heading", { name: "No files yet" })).toBeVisible();
  await expect(dropZone(page)).toBeVisible();

  // Any reload would lose this marker.
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
  await recordProgress(page);

  const dropped = [
    { name: "notes.txt", size: 12_345, type: "text/plain" },
    { name: "figures.csv", size: 250_000, type: "text/csv" },
    { name: "archive.bin", size: 3 * MiB, type: "application/octet-stream" },
  ];
  await dropFiles(page, dropped);
  const big = randomFile("video-100MB.bin", 100 * MiB);
  await pickFiles(page, [big.path]);
  const names = [...dropped.map((f) => f.name), "video-100MB.bin"];

  // The upload panel shows each file with a progress bar while it is sent.
  const panel = page.getByRole("region", { name: "Uploads" });
  await expect(panel).toBeVisible();
  await expect(panel.getByRole("progressbar", { name: "Upload of video-100MB.bin" })).toBeVisible();
  await expect(panel.getByRole("heading", { name: /Uploading \d+ files? · \d+%|Uploads finished/ })).toBeVisible();

  // Every file is listed as ready without a reload (the page polls pending files).
  for (const name of names) await expectReady(page, name, 90_000);
  await expect(page.getByRole("list", { name: "Files" }).getByRole("listitem")).toHaveCount(names.length);
  await expect(fileRow(page, "video-100MB.bin")).toContainText("100 MiB");
  await expect(page.getByRole("heading", { level: 1, name: "Your files" })).toBeVisible();
  await expect(page.getByText(/^4 files · /)).toBeVisible();

  // Progress was shown for every file and reached 100 %; the big one was seen in between.
  const progress = await page.evaluate(() => (window as unknown as { __progress: Record<string, number[]> }).__progress);
  for (const name of names) {
    const values = progress[`Upload of ${name}`] ?? [];
    expect(values, `progress of ${name}`).toContain(100);
    expect(values.every((v, i) => i === 0 || v >= values[i - 1]), `progress of ${name} never goes back: ${values}`).toBe(true);
  }
  const bigValues = progress["Upload of video-100MB.bin"];
  expect(bigValues.some((v) => v > 0 && v < 100), `intermediate progress of the 100 MB file: ${bigValues}`).toBe(true);

  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);

  // The 100 MB file arrived in storage byte for byte (whether sent whole or in parts).
  expect(objectsWithHash(big.sha256), "the 100 MB object on disk").toHaveLength(1);
});

/**
 * /requests is a page load of the app's other entry, and a page load cuts off an upload on its
 * way: while one runs the page asks first (`beforeunload`); staying keeps it going. With nothing
 * running the same link just goes.
 */
test("leaving the files page asks first while an upload is on its way, and not once it is done", async ({ page }) => {
  await signUp(page, "leave");
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.type());
    void dialog.dismiss();
  });

  // Storage gets the file's bytes only when the test lets them go: the upload stays on its way.
  let held!: (route: Route) => void;
  const heldPut = new Promise<Route>((resolve) => (held = resolve));
  await page.route(/\/ferry-files\//, (route) => (route.request().method() === "PUT" ? held(route) : route.fallback()));
  const file = randomFile("on-its-way.txt", 40_000);
  await pickFiles(page, [file.path]);
  const put = await heldPut;

  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Requests" }).click();
  await expect.poll(() => dialogs).toEqual(["beforeunload"]);
  // Dismissed: still the same page, and the upload finishes.
  await expect(page).toHaveURL(/\/files$/);
  await put.continue();
  await expectReady(page, "on-its-way.txt");
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  expect(objectsWithHash(file.sha256), "the file on disk").toHaveLength(1);

  // Nothing on its way: the link goes without asking.
  await nav.getByRole("link", { name: "Requests" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "File requests" })).toBeVisible();
  expect(dialogs).toEqual(["beforeunload"]);
});

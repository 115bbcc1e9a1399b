import { capture, expect, expectReady, pickFiles, randomFile, signUp, sparseFile, stackEnv, test } from "./fixtures";
import { LIMITS, MiB } from "../limits";

test("a file over the size limit and an upload over quota are refused with clear messages", async ({ page, guard }) => {
  // The API refuses with 413 and 403; the browser logs those answers.
  guard.allow(/Failed to load resource: the server responded with a status of (413|403)\b.* @ .*\/api\/uploads/);
  await signUp(page, "limits");
  const panel = page.getByRole("region", { name: "Uploads" });

  // Over the maximum size: refused before any byte is sent, and not offered for retry.
  const huge = sparseFile("too-big.iso", LIMITS.maxFileSize + 10 * MiB);
  await pickFiles(page, [huge]);
  const hugeRow = panel.getByRole("listitem").filter({ hasText: "too-big.iso" });
  await expect(hugeRow).toContainText(/This file is [\d.]+ MiB; the largest file you can upload is 110\.0 MiB\./);
  await expect(hugeRow.getByRole("button", { name: /Retry/ })).toHaveCount(0);
  await capture(page, "upload-error-too-large");
  await expect(page.getByRole("heading", { name: "No files yet" })).toBeVisible();

  // Over quota: 60 MiB fits in 150 MiB, another 100 MiB does not.
  const first = randomFile("fits.bin", 60 * MiB);
  await pickFiles(page, [first.path]);
  await expectReady(page, "fits.bin", 90_000);
  const second = sparseFile("does-not-fit.bin", 100 * MiB);
  await pickFiles(page, [second]);
  const quotaRow = panel.getByRole("listitem").filter({ hasText: "does-not-fit.bin" });
  await expect(quotaRow).toContainText(/Not enough space: this file needs 100\.0 MiB, and 90\.0 MiB of your 150\.0 MiB is free\./);
  await capture(page, "upload-error-quota");
  await expect(page.getByRole("list", { name: "Files" }).getByRole("listitem")).toHaveCount(1);
});

test("storage refusing an upload offers a retry that works", async ({ page, guard }) => {
  await signUp(page, "retry");
  const s3 = stackEnv("FERRY_E2E_S3_URL");
  const origin = stackEnv("FERRY_E2E_URL");
  guard.allow(/Failed to load resource: the server responded with a status of 503\b.* @ /);

  // The storage endpoint refuses the first PUT (as it would while restarting), then recovers.
  let refused = 0;
  await page.route(`${s3}/**`, async (route) => {
    if (route.request().method() === "PUT" && refused === 0) {
      refused++;
      await route.fulfill({
        status: 503,
        headers: { "access-control-allow-origin": origin, "content-type": "application/xml" },
        body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
      });
      return;
    }
    await route.fallback();
  });

  const file = randomFile("second-try.txt", 300_000);
  await pickFiles(page, [file.path]);
  const row = page.getByRole("region", { name: "Uploads" }).getByRole("listitem").filter({ hasText: "second-try.txt" });
  await expect(row).toContainText(/Storage refused the file \(HTTP 503\)\. Retry in a moment\./);
  expect(refused).toBe(1);
  await capture(page, "upload-error-storage");

  await row.getByRole("button", { name: "Retry second-try.txt" }).click();
  await expectReady(page, "second-try.txt");
  await expect(page.getByRole("list", { name: "Files" }).getByRole("listitem")).toHaveCount(1);
});

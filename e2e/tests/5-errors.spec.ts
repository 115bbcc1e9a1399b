import { capture, expect, expectReady, objectsWithHash, pickFiles, randomFile, signUp, sparseFile, stackEnv, test } from "./fixtures";
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
  await expect(hugeRow).toContainText(/This file is [\d.]+ MiB; the largest file you can upload is 110 MiB\./);
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
  await expect(quotaRow).toContainText(/Not enough space: this file needs 100 MiB, and 90 MiB of your 150 MiB is free\./);
  await capture(page, "upload-error-quota");
  await expect(page.getByRole("list", { name: "Files" }).getByRole("listitem")).toHaveCount(1);
});

test("storage refusing an upload, or dropping the connection, offers a retry that works", async ({ page, guard }) => {
  await signUp(page, "retry");
  const s3 = stackEnv("FERRY_E2E_S3_URL");
  const origin = stackEnv("FERRY_E2E_URL");
  guard.allow(/Failed to load resource: the server responded with a status of 503\b.* @ /);
  guard.allow(/^(?=.*net::ERR_CONNECTION_RESET)(?=.*\/ferry-files\/)/);

  // The storage endpoint refuses the first PUT (as it would while overloaded), drops the
  // connection of the second (as when it restarts mid-upload), then recovers.
  const faults: ("refuse" | "reset")[] = ["refuse", "reset"];
  let faulted = 0;
  await page.route(`${s3}/**`, async (route) => {
    const fault = route.request().method() === "PUT" ? faults.shift() : undefined;
    if (fault === "refuse") {
      faulted++;
      await route.fulfill({
        status: 503,
        headers: { "access-control-allow-origin": origin, "content-type": "application/xml" },
        body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
      });
    } else if (fault === "reset") {
      faulted++;
      await route.abort("connectionreset");
    } else {
      await route.fallback();
    }
  });
  const panel = page.getByRole("region", { name: "Uploads" });

  const refused = randomFile("second-try.txt", 300_000);
  await pickFiles(page, [refused.path]);
  const refusedRow = panel.getByRole("listitem").filter({ hasText: "second-try.txt" });
  await expect(refusedRow).toContainText("Storage refused the file (HTTP 503). Retry in a moment.");
  await capture(page, "upload-error-storage");

  const dropped = randomFile("cut-off.bin", 2_000_000);
  await pickFiles(page, [dropped.path]);
  const droppedRow = panel.getByRole("listitem").filter({ hasText: "cut-off.bin" });
  await expect(droppedRow).toContainText("The connection was interrupted. Check your network and retry.");
  expect(faulted).toBe(2);
  // A failed upload leaves no half-made file behind in the list.
  await expect(page.getByRole("heading", { name: "No files yet" })).toBeVisible();

  await refusedRow.getByRole("button", { name: "Retry second-try.txt" }).click();
  await droppedRow.getByRole("button", { name: "Retry cut-off.bin" }).click();
  await expectReady(page, "second-try.txt");
  await expectReady(page, "cut-off.bin");
  await expect(page.getByRole("list", { name: "Files" }).getByRole("listitem")).toHaveCount(2);
  expect(objectsWithHash(refused.sha256)).toHaveLength(1);
  expect(objectsWithHash(dropped.sha256)).toHaveLength(1);
});

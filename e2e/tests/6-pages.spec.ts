import {
  capture,
  closeDialog,
  createAccountFromSignIn,
  dropFiles,
  dropZone,
  expect,
  expectReady,
  newEmail,
  pickFiles,
  randomFile,
  test,
} from "./fixtures";

/**
 * Every page, signed out and in: no console errors or failed requests (the automatic guard),
 * no serious or critical axe violations in light and dark, and a screenshot of each.
 */
test("every page is clean (console, requests, axe) in light and dark, with screenshots", async ({ page, visitorContext, guard }) => {
  guard.allow(/Failed to load resource: the server responded with a status of (401|404|410)\b.* @ .*\/(login|api\/public\/shares\/)/);

  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1, name: /Send big files/ })).toBeVisible();
  await capture(page, "landing");

  await page.goto("/no/such/page");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await capture(page, "not-found");

  // The hosted UI.
  await page.goto("/files");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await capture(page, "sign-in");
  const email = newEmail("pages");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await capture(page, "sign-in-error");
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page.getByRole("heading", { name: "Create account" })).toBeVisible();
  await capture(page, "sign-up");
  await page.getByRole("link", { name: "Sign in" }).click();
  await createAccountFromSignIn(page, email);

  // Files, empty then with uploads.
  await expect(page.getByRole("heading", { name: "No files yet" })).toBeVisible();
  await capture(page, "files-empty");

  // The drop zone works from the keyboard: Enter opens the file picker.
  await dropZone(page).focus();
  await expect(dropZone(page)).toBeFocused();
  const chooser = page.waitForEvent("filechooser", { timeout: 5_000 });
  await page.keyboard.press("Enter");
  expect((await chooser).isMultiple()).toBe(true);
  const photo = randomFile("holiday-notes.txt", 80_000);
  await pickFiles(page, [photo.path]);
  await dropFiles(page, [
    { name: "budget-2026.csv", size: 20_000, type: "text/csv" },
    { name: "slides.pdf", size: 900_000, type: "application/pdf" },
  ]);
  for (const name of ["holiday-notes.txt", "budget-2026.csv", "slides.pdf"]) await expectReady(page, name);
  await capture(page, "files-with-uploads");

  // The share dialog: Escape closes it and gives focus back; then the form, then the link.
  const shareButton = page.getByRole("button", { name: "Share slides.pdf" });
  await shareButton.click();
  const dialog = page.getByRole("dialog", { name: "Share “slides.pdf”" });
  await expect(dialog).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(shareButton).toBeFocused();
  await shareButton.click();
  await expect(dialog.getByRole("button", { name: "Create link" })).toBeVisible();
  await capture(page, "share-dialog");
  await dialog.getByRole("button", { name: "Create link" }).click();
  const link = dialog.getByRole("textbox", { name: "Share link" });
  await expect(link).toHaveValue(/\/s\//);
  const url = await link.inputValue();
  await capture(page, "share-dialog-link");
  await closeDialog(page, "Share “slides.pdf”");

  // The delete confirmation.
  await page.getByRole("button", { name: "Delete budget-2026.csv" }).click();
  await expect(page.getByRole("dialog", { name: "Delete this file?" })).toBeVisible();
  await capture(page, "delete-dialog");
  await page.getByRole("dialog", { name: "Delete this file?" }).getByRole("button", { name: "Cancel" }).click();

  // My links.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My links" }).click();
  await expect(page.getByRole("list", { name: "Share links" }).getByRole("listitem")).toHaveCount(1);
  await capture(page, "my-links");

  // The public page, usable and not.
  const visitor = await (await visitorContext()).newPage();
  await visitor.goto(url);
  await expect(visitor.getByRole("heading", { level: 1, name: "slides.pdf" })).toBeVisible();
  await capture(visitor, "public-share");
  await visitor.goto(url.replace(/\/s\/.*/, "/s/AAAAAAAAAAAAAAAAAAAAAA"));
  await expect(visitor.getByRole("heading", { level: 1, name: "This link doesn't exist" })).toBeVisible();
  await capture(visitor, "public-share-unavailable");

  // My links again, empty state for a new account is covered by the files page; sign out ends here.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("banner").getByRole("button", { name: "Sign in" })).toBeVisible();
});

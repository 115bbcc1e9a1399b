import { createAccountFromSignIn, expect, newEmail, PASSWORD, test } from "./fixtures";

test("sign up and sign in through the hosted UI; sign out; signing in again returns to the page asked for", async ({ page, guard }) => {
  // The hosted UI answers a wrong password with 401 and a taken email with 400; the browser logs both.
  guard.allow(/Failed to load resource: the server responded with a status of 401\b.* @ .*\/login$/);
  guard.allow(/Failed to load resource: the server responded with a status of 400\b.* @ .*\/signup$/);
  const email = newEmail("auth");

  // Signed out, the landing page offers the way in.
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1, name: /Send big files/ })).toBeVisible();
  await page.getByRole("banner").getByRole("button", { name: "Sign in" }).click();

  // The hosted UI: create an account; it signs in and comes back to the files.
  await createAccountFromSignIn(page, email);
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.getByRole("heading", { level: 1, name: "Your files" })).toBeVisible();
  await expect(page.getByRole("banner")).toContainText(email);
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My links" })).toBeVisible();

  // Sign out: the refresh token is revoked first, then back on the public landing page, no
  // session left, and the old refresh token is worthless.
  const session = JSON.parse((await page.evaluate(() => sessionStorage.getItem("ferry.session"))) ?? "{}");
  expect(typeof session.refresh_token).toBe("string");
  const revoked = page.waitForResponse((r) => new URL(r.url()).pathname === "/oauth2/revoke");
  await page.getByRole("button", { name: "Sign out" }).click();
  expect((await revoked).status()).toBe(200);
  await expect(page.getByRole("banner").getByRole("button", { name: "Sign in" })).toBeVisible();
  const config = await (await page.request.get("/config.json")).json();
  const refreshed = await page.request.post("/oauth2/token", {
    form: { grant_type: "refresh_token", client_id: config.client_id, refresh_token: session.refresh_token },
  });
  expect(refreshed.status()).toBe(400);
  expect(await refreshed.json()).toEqual({ error: "invalid_grant" });
  await expect(page.getByRole("button", { name: "Sign out" })).toHaveCount(0);
  await expect(page.getByRole("navigation", { name: "Main" })).toHaveCount(0);

  // A private page sends a signed-out visitor to sign in.
  await page.goto("/links");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  expect(new URL(page.url()).pathname).toBe("/oauth2/authorize");

  // A wrong password is refused on the hosted page, without saying which part was wrong.
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not-the-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Incorrect email or password.");

  // The right password lands on the page that was asked for.
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/links$/);
  await expect(page.getByRole("heading", { level: 1, name: "My links" })).toBeVisible();
  await expect(page.getByRole("banner")).toContainText(email);

  // Signing up again with the same email is refused with a clear message.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("banner").getByRole("button", { name: "Sign in" })).toBeVisible();
  await page.getByRole("banner").getByRole("button", { name: "Sign in" }).click();
  await createAccountFromSignIn(page, email);
  await expect(page.getByRole("alert")).toHaveText(/already exists/);
});

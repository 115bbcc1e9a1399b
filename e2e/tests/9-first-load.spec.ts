import { closeDialog, createAccountFromSignIn, createShare, expect, expectReady, newEmail, pickFiles, randomFile, signUp, test } from "./fixtures";

/**
 * The recipients' page is its own small entry (share.html, the `ferry-share` wasm): a visitor
 * never downloads the app, the first load stays within 73 KB compressed, and the page says
 * something before any wasm runs (and, without JavaScript, why it cannot go on).
 */
test("a share link loads only the light recipients' page, and has text before any wasm", async ({ page, visitorContext, browser }) => {
  await signUp(page, "light");
  const file = randomFile("light-page.txt", 5_000);
  await pickFiles(page, [file.path]);
  await expectReady(page, "light-page.txt");
  const url = await createShare(page, "light-page.txt");
  await closeDialog(page, "Share “light-page.txt”");

  const visitor = await (await visitorContext()).newPage();
  const fetched: { url: string; bytes: Promise<number> }[] = [];
  visitor.on("requestfinished", (request) =>
    fetched.push({ url: request.url(), bytes: request.sizes().then((s) => s.responseBodySize) }),
  );
  await visitor.goto(url);
  await expect(visitor.getByRole("heading", { level: 1, name: "light-page.txt" })).toBeVisible();
  await expect(visitor).toHaveTitle("light-page.txt · Ferry");
  await visitor.waitForLoadState("networkidle");
  const names = fetched.map((f) => new URL(f.url).pathname);
  expect(names.filter((n) => n.endsWith(".wasm"))).toEqual([expect.stringMatching(/^\/ferry-share-[0-9a-f]{8,16}_bg\.wasm$/)]);
  expect(names.some((n) => n.includes("ferry-app"))).toBe(false);
  const total = (await Promise.all(fetched.map((f) => f.bytes))).reduce((a, b) => a + b, 0);
  expect(total, `first load of the share page: ${names.join(", ")}`).toBeLessThanOrEqual(73 * 1024);

  // Before the wasm (here: never, scripts are off) the page already shows where it is and
  // what it is doing, and says why it cannot go on.
  const noScript = await browser.newContext({ javaScriptEnabled: false, baseURL: new URL(url).origin });
  try {
    const bare = await noScript.newPage();
    await bare.goto(url);
    await expect(bare.getByRole("link", { name: "Ferry" })).toBeVisible();
    await expect(bare.getByRole("heading", { level: 1, name: "This page needs JavaScript" })).toBeVisible();
    await expect(bare).toHaveTitle("Shared file · Ferry");
  } finally {
    await noScript.close();
  }
  const skeleton = await (await visitor.request.get(url)).text();
  expect(skeleton).toContain("Opening the link…");
  expect(skeleton).not.toContain("ferry-app");
});

/**
 * The landing page is its own small entry too (landing.html, the `ferry-landing` wasm): a first
 * visit never downloads the app and stays within 60 KB compressed; its buttons sign in even
 * before the wasm has loaded (they are forms that open the app at /files); and someone with a
 * session in this tab goes straight on to their files.
 */
test("the landing page loads only its light entry, signs in before its wasm, and sends a signed-in visitor on", async ({ page, visitorContext }) => {
  const visitor = await (await visitorContext()).newPage();
  const fetched: { url: string; bytes: Promise<number> }[] = [];
  visitor.on("requestfinished", (request) =>
    fetched.push({ url: request.url(), bytes: request.sizes().then((s) => s.responseBodySize) }),
  );
  await visitor.goto("/");
  await expect(visitor.getByRole("heading", { level: 1, name: /Send big files/ })).toBeVisible();
  await expect(visitor).toHaveTitle("Ferry");
  await visitor.waitForLoadState("networkidle");
  const names = fetched.map((f) => new URL(f.url).pathname);
  expect(names.filter((n) => n.endsWith(".wasm"))).toEqual([expect.stringMatching(/^\/ferry-landing-[0-9a-f]{8,16}_bg\.wasm$/)]);
  expect(names.some((n) => n.includes("ferry-app"))).toBe(false);
  const total = (await Promise.all(fetched.map((f) => f.bytes))).reduce((a, b) => a + b, 0);
  expect(total, `first load of the landing page: ${names.join(", ")}`).toBeLessThanOrEqual(60 * 1024);

  // With its wasm: "Start sharing" leaves for the hosted UI straight away, without the app.
  await visitor.getByRole("button", { name: "Start sharing" }).click();
  await expect(visitor.getByRole("heading", { name: "Sign in" })).toBeVisible();
  expect(new URL(visitor.url()).pathname).toBe("/oauth2/authorize");
  expect(fetched.map((f) => new URL(f.url).pathname).some((n) => n.includes("ferry-app"))).toBe(false);
  const pending = JSON.parse((await visitor.evaluate(() => sessionStorage.getItem("ferry.sign-in"))) ?? "{}");
  expect(pending.return_to).toBe("/files");

  // Before its wasm has arrived (held back here), a click is not lost: the form opens the app,
  // which sends the visitor to sign in and back to /files.
  const early = await (await visitorContext()).newPage();
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await early.route(/\/ferry-landing-[0-9a-f]+_bg\.wasm$/, async (route) => {
    await held;
    await route.continue().catch(() => {});
  });
  await early.goto("/", { waitUntil: "domcontentloaded" });
  await early.getByRole("banner").getByRole("button", { name: "Sign in" }).click();
  await expect(early.getByRole("heading", { name: "Sign in" })).toBeVisible();
  expect(new URL(early.url()).pathname).toBe("/oauth2/authorize");
  release();

  // Signed in, `/` goes on to the files (the app's landing page offered "Go to your files").
  await signUp(page, "landing");
  await page.goto("/");
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.getByRole("heading", { level: 1, name: "Your files" })).toBeVisible();
});

/**
 * The file requests' pages are the app's second entry (requests.html, the `ferry-requests`
 * wasm): /files never downloads them, /requests loads only that entry, and the header's links
 * between the two entries are page loads that keep the session. A sign-in that was asked for
 * from /requests comes back there.
 */
test("the files page and the requests page each load only their own entry of the app", async ({ page, visitorContext }) => {
  const wasm: string[] = [];
  page.on("requestfinished", (request) => {
    const name = new URL(request.url()).pathname;
    if (name.endsWith(".wasm")) wasm.push(name);
  });
  await signUp(page, "entries");
  expect(wasm.length).toBeGreaterThan(0);
  expect(wasm.filter((n) => !/^\/ferry-app-[0-9a-f]{8,16}_bg\.wasm$/.test(n))).toEqual([]);

  wasm.length = 0;
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Requests" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "File requests" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Requests" })).toHaveAttribute("aria-current", "page");
  expect(wasm).toEqual([expect.stringMatching(/^\/ferry-requests-[0-9a-f]{8,16}_bg\.wasm$/)]);

  wasm.length = 0;
  await nav.getByRole("link", { name: "My links" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "My links" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  expect(wasm.some((n) => n.includes("ferry-requests"))).toBe(false);

  // Signed out, /requests goes through the hosted sign-in (the main entry's /callback) and back.
  const visitor = await (await visitorContext()).newPage();
  await visitor.goto("/requests");
  await createAccountFromSignIn(visitor, newEmail("entries-visitor"));
  await expect(visitor).toHaveURL(/\/requests$/);
  await expect(visitor.getByRole("heading", { level: 1, name: "File requests" })).toBeVisible();
});

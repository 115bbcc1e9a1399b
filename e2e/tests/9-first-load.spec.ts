import { closeDialog, createShare, expect, expectReady, pickFiles, randomFile, signUp, test } from "./fixtures";

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
  expect(names.filter((n) => n.endsWith(".wasm"))).toEqual([expect.stringMatching(/^\/ferry-share-[0-9a-f]{16}_bg\.wasm$/)]);
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

import { expect, test } from "./fixtures";

/**
 * The app runs under production's Content-Security-Policy (the local server sends CloudFront's
 * policy; a violation is a console error, which the automatic guard fails on) and gets its
 * wasm compressed and cacheable; robots.txt is not the app and share pages are noindex.
 */
test("the site runs under production's CSP, compressed and cached like CloudFront", async ({ page, request }) => {
  const violations: string[] = [];
  await page.exposeFunction("reportViolation", (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      (window as unknown as { reportViolation: (v: string) => void }).reportViolation(
        `${e.violatedDirective} ${e.blockedURI}`,
      ),
    );
  });

  const response = await page.goto("/");
  const headers = response!.headers();
  expect(headers["content-security-policy"]).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["cache-control"]).toBe("no-cache");
  await expect(page.getByRole("heading", { level: 1, name: /Send big files/ })).toBeVisible();

  const wasm = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((e) => e.name)
      .find((n) => n.endsWith(".wasm")),
  );
  expect(wasm).toBeTruthy();
  const asset = await request.get(wasm!, { headers: { "accept-encoding": "br, gzip" } });
  expect(asset.headers()["content-encoding"]).toBe("br");
  expect(asset.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");

  const robots = await request.get("/robots.txt");
  expect(robots.status()).toBe(200);
  expect(await robots.text()).toContain("Disallow: /s/");
  const share = await request.get("/s/AAAAAAAAAAAAAAAAAAAAAA");
  expect(share.headers()["x-robots-tag"]).toBe("noindex");

  expect(violations).toEqual([]);
});

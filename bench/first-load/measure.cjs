// The browser half of bench/first-load: opens each page of a running `ferry serve` in headless
// Debian Chromium with an empty cache, records every request the visit makes with the size of
// its body as sent (the server's brotli twins: Chromium asks with `Accept-Encoding: br`), the
// first contentful paint (PerformanceObserver) and when the wasm finished loading. Prints per
// page the requests, the total against the goal, and the times (BENCH_JSON=file: raw figures).
//
//   /            signed out, until the landing page's heading shows
//   /files       signed in (through the hosted sign-in pages first), cache emptied, reloaded
//   /s/{token}   a fresh visitor, until the shared file's name shows (SHARE_URL)
//
// Each visit runs on plain loopback and again under Lighthouse's mobile network (slow 4G:
// 150 ms round trips, 1.6 Mbit/s), where loopback hides what the bytes cost.
//
// Needs playwright-core on NODE_PATH (run.sh points it at e2e/node_modules).
"use strict";

const { chromium } = require("playwright-core");

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

const url = process.env.FERRY_URL;
const shareUrl = process.env.SHARE_URL;
const shareName = process.env.SHARE_NAME;
const runs = Number(process.env.BENCH_RUNS ?? "3");
if (!url || !shareUrl || !shareName) throw new Error("FERRY_URL, SHARE_URL and SHARE_NAME are required");

/** Collects the requests `page` makes from now on. */
function record(page) {
  const seen = [];
  page.on("requestfinished", (request) => {
    seen.push(
      (async () => {
        const sizes = await request.sizes().catch(() => null);
        const response = await request.response().catch(() => null);
        const headers = response ? await response.allHeaders().catch(() => ({})) : {};
        return {
          url: request.url(),
          type: request.resourceType(),
          status: response ? response.status() : 0,
          encoding: headers["content-encoding"] ?? "identity",
          bytes: sizes ? sizes.responseBodySize : 0,
        };
      })(),
    );
  });
  page.on("requestfailed", (request) => {
    seen.push(Promise.resolve({ url: request.url(), type: request.resourceType(), status: 0, encoding: "failed", bytes: 0 }));
  });
  return async () => Promise.all(seen);
}

/** First contentful paint and the end of the wasm download, in ms since navigation start. */
async function timings(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const wasm = performance
          .getEntriesByType("resource")
          .filter((e) => e.name.endsWith(".wasm"))
          .map((e) => e.responseEnd);
        new PerformanceObserver((list, observer) => {
          const fcp = list.getEntries().find((e) => e.name === "first-contentful-paint");
          if (fcp) {
            observer.disconnect();
            resolve({ fcp: fcp.startTime, wasmLoaded: wasm.length ? Math.max(...wasm) : null });
          }
        }).observe({ type: "paint", buffered: true });
      }),
  );
}

/** Lighthouse's mobile network (150 ms round trips, 1.6 Mbit/s down, 750 kbit/s up), through
 * Chromium's own network emulation; `null` is plain loopback. */
const SLOW_4G = { offline: false, latency: 150, downloadThroughput: (1638.4 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 };

async function throttle(context, page, network) {
  if (!network) return;
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", network);
}

async function settle(page) {
  await page.waitForLoadState("networkidle");
}

async function landing(browser, network) {
  const context = await browser.newContext({ baseURL: url });
  const page = await context.newPage();
  await throttle(context, page, network);
  const requests = record(page);
  await page.goto("/");
  await page.getByRole("heading", { level: 1, name: /Send big files/ }).waitFor();
  await settle(page);
  const result = { ...(await timings(page)), requests: await requests() };
  await context.close();
  return result;
}

async function files(browser, network) {
  const context = await browser.newContext({ baseURL: url });
  const page = await context.newPage();
  const email = `bench-first-load-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  await page.goto("/files");
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("bench-Passw0rd-1");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { level: 1, name: "Your files" }).waitFor();
  await settle(page);
  // The session lives in this tab (sessionStorage); the cache is emptied so the reload is a
  // first load of /files for someone signed in.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.clearBrowserCache");
  await throttle(context, page, network);
  const requests = record(page);
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Your files" }).waitFor();
  await settle(page);
  const result = { ...(await timings(page)), requests: await requests() };
  await context.close();
  return result;
}

async function share(browser, network) {
  const context = await browser.newContext({ baseURL: url });
  const page = await context.newPage();
  await throttle(context, page, network);
  const requests = record(page);
  await page.goto(shareUrl);
  await page.getByRole("heading", { level: 1, name: shareName }).waitFor();
  await settle(page);
  const result = { ...(await timings(page)), requests: await requests() };
  await context.close();
  return result;
}

const GOALS = { "/": 150 * 1024, "/files": 150 * 1024, "/s/{token}": 73 * 1024 };
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (value) => (value == null ? "-" : `${Math.round(value)} ms`);
const median = (values) => {
  const sorted = values.filter((v) => v != null).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : null;
};

/** Per page: the last run's requests (sizes do not change between runs), the total against
 * the goal, and the paint times of every run. */
function report(out) {
  const lines = [];
  for (const [name, results] of Object.entries(out)) {
    const last = results[results.length - 1];
    lines.push(`${name}`);
    lines.push(`  ${"request".padEnd(58)} ${"type".padEnd(10)} ${"encoding".padEnd(9)} ${"bytes".padStart(8)}`);
    let total = 0;
    for (const r of last.requests) {
      const { pathname, host } = new URL(r.url);
      const where = host === new URL(url).host ? pathname : `${host}${pathname}`;
      const shown = where.length > 58 ? `${where.slice(0, 40)}…${where.slice(-17)}` : where;
      lines.push(`  ${shown.padEnd(58)} ${r.type.padEnd(10)} ${r.encoding.padEnd(9)} ${String(r.bytes).padStart(8)}`);
      total += r.bytes;
    }
    const goal = GOALS[name];
    const verdict = total <= goal ? "met" : "NOT met";
    lines.push(`  total ${kb(total)} (${last.requests.length} requests); goal <= ${kb(goal)}: ${(total / goal).toFixed(2)}x of the goal, ${verdict}`);
    for (const [label, times] of [
      ["loopback", results],
      ["slow 4G ", results.map((r) => r.slow4g)],
    ]) {
      const fcps = times.map((r) => r.fcp);
      const wasm = times.map((r) => r.wasmLoaded);
      const before = times.every((r) => r.wasmLoaded == null || r.fcp < r.wasmLoaded);
      lines.push(
        `  ${label}: first text (FCP) median ${ms(median(fcps))} [${fcps.map(ms).join(", ")}], ` +
          `wasm loaded median ${ms(median(wasm))}; text before the wasm is in: ${before ? "yes" : "no"}`,
      );
    }
    lines.push("");
  }
  process.stdout.write(`${lines.join("\n")}`);
}

(async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
  const out = { "/": [], "/files": [], "/s/{token}": [] };
  const pages = { "/": landing, "/files": files, "/s/{token}": share };
  try {
    for (let i = 0; i < runs; i++) {
      for (const [name, visit] of Object.entries(pages)) {
        const loopback = await visit(browser, null);
        const slow = await visit(browser, SLOW_4G);
        out[name].push({ ...loopback, slow4g: { fcp: slow.fcp, wasmLoaded: slow.wasmLoaded } });
      }
    }
  } finally {
    await browser.close();
  }
  if (process.env.BENCH_JSON) require("node:fs").writeFileSync(process.env.BENCH_JSON, JSON.stringify(out));
  report(out);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

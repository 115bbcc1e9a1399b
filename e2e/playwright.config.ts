import { defineConfig, devices } from "@playwright/test";

/**
 * Ferry's end-to-end journeys in Debian's chromium (never a downloaded browser).
 *
 * The global setup builds and starts `ferry serve` on free ports with a fresh data directory and
 * small limits; tests read its address from the environment through `fixtures.ts`.
 * Screenshots of every main screen go to `<repo>/target/e2e-screenshots/<screen>-<theme>.png`.
 */
export default defineConfig({
  testDir: "./tests",
  outputDir: "./test-results",
  globalSetup: "./global-setup.ts",
  // Two cores shared with builds: one browser at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  // The journeys take about two minutes here (one uploads 100 MB); this is a safety net per
  // test. No global timeout: it would include the global setup's `cargo build`, which on a
  // fresh machine can take longer than all the journeys together.
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    ...devices["Desktop Chrome"],
    // Light by default; `capture()` in fixtures.ts shoots and scans each screen in both schemes.
    colorScheme: "light",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    video: "off",
    acceptDownloads: true,
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    launchOptions: {
      executablePath: process.env.FERRY_E2E_CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
      ],
    },
  },
  projects: [{ name: "chromium" }],
});

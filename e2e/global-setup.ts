/**
 * Starts the local stack for the run: builds `ferry` (fast when up to date), then `startStack`
 * (`stack.ts`) picks two free ports, makes a fresh data directory, runs `ferry serve` with small
 * limits so the error journeys are quick, waits for `/api/health`; returns the teardown that
 * stops it.
 *
 * Tests find the stack through environment variables (workers inherit them):
 * FERRY_E2E_URL, FERRY_E2E_S3_URL, FERRY_E2E_DATA_DIR, FERRY_E2E_TMP.
 */
import { spawnSync } from "node:child_process";

import { LIMITS } from "./limits";
import { REPO, siteDir, startStack } from "./stack";

export { REPO };

export default async function globalSetup(): Promise<() => Promise<void>> {
  const site = siteDir();

  // FERRY_E2E_SKIP_BUILD=1 reuses target/debug/ferry as it is (for iterating on the tests).
  if (process.env.FERRY_E2E_SKIP_BUILD !== "1") {
    const build = spawnSync("cargo", ["build", "--package", "ferry-backend", "--bin", "ferry"], {
      cwd: REPO,
      stdio: "inherit",
    });
    if (build.status !== 0) throw new Error("`cargo build --bin ferry` failed");
  }

  const stack = await startStack({ siteDir: site, limits: LIMITS, logName: "e2e-ferry.log" });
  process.env.FERRY_E2E_URL = stack.url;
  process.env.FERRY_E2E_S3_URL = stack.s3Url;
  process.env.FERRY_E2E_DATA_DIR = stack.dataDir;
  process.env.FERRY_E2E_TMP = stack.filesDir;
  console.log(
    `ferry serve is up at ${stack.url} (S3 on ${stack.s3Url}, data in ${stack.dataDir}, log in ${stack.logFile})`,
  );
  return stack.stop;
}

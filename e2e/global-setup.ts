/**
 * Starts the local stack for the run: builds `ferry` (fast when up to date), picks two free
 * ports, makes a fresh data directory, runs `ferry serve` with small limits so the error
 * journeys are quick, waits for `/api/health`, and returns the teardown that stops it.
 *
 * Tests find the stack through environment variables (workers inherit them):
 * FERRY_E2E_URL, FERRY_E2E_S3_URL, FERRY_E2E_DATA_DIR, FERRY_E2E_TMP.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

import { LIMITS } from "./limits";

export const REPO = path.resolve(__dirname, "..");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`ferry serve exited with ${child.exitCode}; see ${log}:\n${tail(log)}`);
    }
    try {
      const response = await fetch(`${url}/api/health`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`ferry serve did not become healthy within 60 s; see ${log}:\n${tail(log)}`);
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "";
  }
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const siteDir = process.env.FERRY_E2E_SITE_DIR ?? path.join(REPO, "dist");
  if (!fs.existsSync(path.join(siteDir, "index.html"))) {
    throw new Error(
      `No built site in ${siteDir}: run \`trunk build\` (or \`cargo xtask test\`, which builds it) first.`,
    );
  }

  // FERRY_E2E_SKIP_BUILD=1 reuses target/debug/ferry as it is (for iterating on the tests).
  if (process.env.FERRY_E2E_SKIP_BUILD !== "1") {
    const build = spawnSync("cargo", ["build", "--package", "ferry-backend", "--bin", "ferry"], {
      cwd: REPO,
      stdio: "inherit",
    });
    if (build.status !== 0) throw new Error("`cargo build --bin ferry` failed");
  }
  const binary = path.join(REPO, "target", "debug", "ferry");
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ferry-e2e-"));
  const dataDir = path.join(tmp, "data");
  const filesDir = path.join(tmp, "files");
  fs.mkdirSync(filesDir);
  const [port, s3Port] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;

  const logFile = path.join(REPO, "target", "e2e-ferry.log");
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, "w");
  const child = spawn(
    binary,
    [
      "serve",
      "--port", String(port),
      "--s3-port", String(s3Port),
      "--data-dir", dataDir,
      "--site-dir", siteDir,
    ],
    {
      cwd: REPO,
      stdio: ["ignore", log, log],
      env: {
        ...process.env,
        FERRY_MAX_FILE_SIZE: String(LIMITS.maxFileSize),
        FERRY_USER_QUOTA: String(LIMITS.userQuota),
        FERRY_MULTIPART_THRESHOLD: String(LIMITS.multipartThreshold),
        RUST_LOG: process.env.RUST_LOG ?? "info,tower_http=warn",
      },
    },
  );
  await waitForHealth(url, child, logFile);

  process.env.FERRY_E2E_URL = url;
  process.env.FERRY_E2E_S3_URL = `http://127.0.0.1:${s3Port}`;
  process.env.FERRY_E2E_DATA_DIR = dataDir;
  process.env.FERRY_E2E_TMP = filesDir;
  console.log(`ferry serve is up at ${url} (S3 on :${s3Port}, data in ${dataDir}, log in ${logFile})`);

  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    fs.closeSync(log);
    if (process.env.FERRY_E2E_KEEP_DATA !== "1") fs.rmSync(tmp, { recursive: true, force: true });
  };
}

/**
 * Starts `ferry serve` on two free ports with a fresh data directory under the system temp dir
 * and the limits given, waits for `/api/health`, and hands back its addresses and a `stop()`.
 *
 * The global setup starts the run's stack with it; a journey that needs other limits (the
 * 1 GiB upload of `7-multipart-resume.spec.ts`) starts a second one of its own.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "..");
export const FERRY_BINARY = path.join(REPO, "target", "debug", "ferry");

export type StackLimits = {
  maxFileSize: number;
  userQuota: number;
  multipartThreshold: number;
};

export type Stack = {
  /** The site and API, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The local S3 endpoint. */
  s3Url: string;
  /** `ferry serve --data-dir` (the bucket is `<dataDir>/s3/ferry-files`). */
  dataDir: string;
  /** A scratch directory for the files a journey uploads; removed by `stop()`. */
  filesDir: string;
  logFile: string;
  /** Stops the server and, unless FERRY_E2E_KEEP_DATA=1, removes its directories. */
  stop: () => Promise<void>;
};

export function freePort(): Promise<number> {
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

function tail(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "";
  }
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

/**
 * Starts `target/debug/ferry serve` (built already) serving `siteDir`, logging to
 * `target/<logName>`.
 */
export async function startStack(options: { siteDir: string; limits: StackLimits; logName: string }): Promise<Stack> {
  if (!fs.existsSync(FERRY_BINARY)) throw new Error(`${FERRY_BINARY} is missing`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ferry-e2e-"));
  const dataDir = path.join(tmp, "data");
  const filesDir = path.join(tmp, "files");
  fs.mkdirSync(filesDir);
  let [port, s3Port] = [await freePort(), await freePort()];
  while (s3Port === port) s3Port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  const logFile = path.join(REPO, "target", options.logName);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, "w");
  const child = spawn(
    FERRY_BINARY,
    [
      "serve",
      "--port", String(port),
      "--s3-port", String(s3Port),
      "--data-dir", dataDir,
      "--site-dir", options.siteDir,
    ],
    {
      cwd: REPO,
      stdio: ["ignore", log, log],
      env: {
        ...process.env,
        FERRY_MAX_FILE_SIZE: String(options.limits.maxFileSize),
        FERRY_USER_QUOTA: String(options.limits.userQuota),
        FERRY_MULTIPART_THRESHOLD: String(options.limits.multipartThreshold),
        RUST_LOG: process.env.RUST_LOG ?? "info,tower_http=warn",
      },
    },
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    fs.closeSync(log);
    if (process.env.FERRY_E2E_KEEP_DATA !== "1") fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await waitForHealth(url, child, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, s3Url: `http://127.0.0.1:${s3Port}`, dataDir, filesDir, logFile, stop };
}

/** The built site the stacks serve (FERRY_E2E_SITE_DIR or `<repo>/dist`). */
export function siteDir(): string {
  const dir = process.env.FERRY_E2E_SITE_DIR ?? path.join(REPO, "dist");
  if (!fs.existsSync(path.join(dir, "index.html"))) {
    throw new Error(
      `No built site in ${dir}: run \`trunk build\` (or \`cargo xtask test\`, which builds it) first.`,
    );
  }
  return dir;
}

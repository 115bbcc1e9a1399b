// The browser half of bench/zip-download: headless Debian Chromium opens each link (SHARE_URL:
// the files as they are; SEALED_URL: the same files end-to-end encrypted, its key in the
// fragment), each in a fresh context (so a fresh download worker), and takes every file one by
// one with its own button, then "Download all", timing each until the browser has the whole file
// on disk. Plain files come straight from storage; an encrypted file and every ZIP stream
// through the download worker (sw.js). Memory is sampled four times a second meanwhile:
//  - the renderer's memory footprint as Chromium itself counts it (Task Manager's "Memory
//    footprint"; on Linux RssAnon + VmSwap, memory_instrumentation's CalculatePrivateFootprintKb):
//    the memory this renderer holds alone, without the Chromium code mapped from disk that every
//    process shares. The goal (< 300 MiB) is about this figure; its peak over the run;
//  - the largest renderer process's RSS from /proc, with its anonymous / file-backed /
//    shared-memory parts (the page and its download worker run in one renderer: the worker
//    starts in the process of the page that registers it); file-backed pages are mostly
//    Chromium's own code, shared with every other process;
//  - as a cross-check, the private memory (anonymous + shared memory) of all renderers summed;
//  - the page's and the download worker's JS heap and array buffers, from DevTools: the page
//    through Playwright, the worker through the browser's own DevTools endpoint
//    (Target.attachToTarget, flattened, then Runtime.getHeapUsage on the worker's session);
//  - the whole browser's PSS.
// Every ZIP is checked with Python's zipfile (every CRC, every size). Prints one JSON object.
//
// Needs playwright-core on NODE_PATH (run.sh points it at e2e/node_modules) and Node's
// WebSocket (node --experimental-websocket on Node 20).
"use strict";

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");
const { freePort, heapPeaks, workerWatch } = require("../lib/devtools.cjs");

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
const links = { plain: process.env.SHARE_URL, encrypted: process.env.SEALED_URL };
const dir = process.env.BENCH_DIR;
if (!url || !links.plain || !dir) throw new Error("FERRY_URL, SHARE_URL and BENCH_DIR are required");
const trace = (line) => process.env.BENCH_TRACE && process.stderr.write(`${Date.now()} ${line}\n`);
const mib = (n) => (n / 1048576).toFixed(0);

/** Fields of /proc/<pid>/<file> in bytes (the kernel writes kB); 0 for what is missing. */
function proc(pid, file, ...fields) {
  let text = "";
  try {
    text = fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    // The process is gone.
  }
  return fields.map((f) => {
    const match = text.match(new RegExp(`^${f}:\\s+(\\d+) kB`, "m"));
    return match ? Number(match[1]) * 1024 : 0;
  });
}

/** CPU seconds (user + system) of a process, 0 once it is gone. */
function cpu(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Samples memory every 250 ms until `stop()`; answers the peaks. */
function sampler(session, cdp, workers) {
  const peaks = {
    renderer_footprint: 0,
    renderer_rss: 0,
    renderer_anon: 0,
    renderer_file: 0,
    renderer_shmem: 0,
    renderers_private: 0,
    page_heap: 0,
    page_buffers: 0,
    worker_heap: 0,
    worker_buffers: 0,
    total_pss: 0,
  };
  const seen = new Set();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { processInfo } = await session.send("SystemInfo.getProcessInfo");
        let total = 0;
        let largest = null;
        let private_ = 0;
        for (const p of processInfo) {
          seen.add(p.id);
          total += proc(p.id, "smaps_rollup", "Pss")[0];
          if (p.type !== "renderer") continue;
          const [rss, anon, file, shmem, swap] = proc(p.id, "status", "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmSwap");
          private_ += anon + shmem;
          peaks.renderer_footprint = Math.max(peaks.renderer_footprint, anon + swap);
          if (!largest || rss > largest.rss) largest = { rss, anon, file, shmem };
          trace(`renderer ${p.id} ${mib(rss)} MiB (anon ${mib(anon)}, file ${mib(file)}, shmem ${mib(shmem)})`);
        }
        if (largest && largest.rss > peaks.renderer_rss) {
          peaks.renderer_rss = largest.rss;
          peaks.renderer_anon = largest.anon;
          peaks.renderer_file = largest.file;
          peaks.renderer_shmem = largest.shmem;
        }
        peaks.renderers_private = Math.max(peaks.renderers_private, private_);
        peaks.total_pss = Math.max(peaks.total_pss, total);
        const { page, worker } = await heapPeaks(cdp, workers, peaks);
        trace(`page heap ${mib(page.usedSize)} MiB, buffers ${mib(page.backingStorageSize ?? 0)} MiB; worker heap ${mib(worker.used)} MiB, buffers ${mib(worker.buffers)} MiB`);
      } catch {
        // A process went away between listing and reading.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
      return peaks;
    },
  };
}

function browserCpu(pids) {
  let sum = 0;
  for (const pid of pids) sum += cpu(pid);
  return sum;
}

/** Python's zipfile on the ZIP: every CRC, the entries, their bytes, the ZIP64 end record. */
function checkZip(zipPath) {
  const script = [
    "import json, sys, zipfile",
    "z = zipfile.ZipFile(sys.argv[1])",
    "infos = z.infolist()",
    "bad = z.testzip()",
    "f = open(sys.argv[1], 'rb'); f.seek(-98, 2); tail = f.read()",
    "print(json.dumps({'bad': bad, 'entries': len(infos), 'bytes': sum(i.file_size for i in infos), 'zip64': b'PK\\x06\\x06' in tail}))",
  ].join("\n");
  try {
    return JSON.parse(execFileSync("python3", ["-c", script, zipPath], { encoding: "utf8", maxBuffer: 1 << 20, stdio: ["ignore", "pipe", "pipe"] }));
  } catch (e) {
    return { bad: `unreadable: ${String(e.stderr || e.message).trim().split("\n").pop()}` };
  }
}

/** One link: its files one by one, then Download all; times, memory, the ZIP's check. */
async function run(browser, session, workers, link) {
  const context = await browser.newContext({ acceptDownloads: true, baseURL: url });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  const cdp = await context.newCDPSession(page);
  await page.goto(link);
  await page.getByRole("button", { name: "Download all (ZIP)" }).waitFor();
  const buttons = page.locator(".transfer-list button[data-i]");
  const count = await buttons.count();

  // Each file alone, one after another, each until it is whole on disk.
  execFileSync("sync");
  let memory = sampler(session, cdp, workers);
  let bytes = 0;
  let started = Date.now();
  let failures = 0;
  for (let i = 0; i < count; i++) {
    const downloading = page.waitForEvent("download", { timeout: 0 });
    await buttons.nth(i).click();
    const download = await downloading;
    const file = await download.path();
    if (await download.failure()) failures += 1;
    bytes += fs.statSync(file).size;
    await download.delete();
  }
  const filesSecs = (Date.now() - started) / 1000;
  const filesMemory = await memory.stop();

  // Download all: one ZIP streamed through the download worker.
  execFileSync("sync");
  const cpuBefore = browserCpu((await session.send("SystemInfo.getProcessInfo")).processInfo.map((p) => p.id));
  const serverBefore = cpu(process.env.FERRY_PID);
  memory = sampler(session, cdp, workers);
  started = Date.now();
  const zipping = page.waitForEvent("download", { timeout: 0 });
  await page.getByRole("button", { name: "Download all (ZIP)" }).click();
  const download = await zipping;
  const zipPath = await download.path();
  const zipSecs = (Date.now() - started) / 1000;
  const failure = await download.failure();
  const zipMemory = await memory.stop();
  const cpuAfter = browserCpu(memory.seen);
  const serverAfter = cpu(process.env.FERRY_PID);
  await page.getByText("The ZIP is saved.").waitFor({ timeout: 60_000 });
  const zipSize = fs.statSync(zipPath).size;
  const check = checkZip(zipPath);
  await download.delete();
  await context.close();
  const ok = !failure && failures === 0 && check.bad === null && check.entries === count && check.bytes === bytes;
  return {
    files: count,
    bytes,
    problems,
    one_by_one: { secs: filesSecs, mb_s: bytes / 1e6 / filesSecs, failures, ...filesMemory },
    zip: {
      secs: zipSecs,
      mb_s: bytes / 1e6 / zipSecs,
      size: zipSize,
      zip64: check.zip64,
      check: ok ? "ok" : `FAILED (${failure ?? ""} ${failures} single downloads failed, ${JSON.stringify(check)})`,
      browser_cpu_secs: cpuAfter - cpuBefore,
      server_cpu_secs: serverAfter - serverBefore,
      ...zipMemory,
    },
    ok,
  };
}

(async () => {
  const port = await freePort();
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [...FLAGS, `--remote-debugging-port=${port}`, "--remote-debugging-address=127.0.0.1"],
    downloadsPath: path.join(dir, "downloads"),
  });
  let workers = null;
  try {
    const session = await browser.newBrowserCDPSession();
    workers = await workerWatch(port, "service_worker");
    const result = {};
    for (const [name, link] of Object.entries(links)) {
      if (link) result[name] = await run(browser, session, workers, link);
    }
    process.stdout.write(JSON.stringify(result) + "\n");
    if (Object.values(result).some((r) => !r.ok)) process.exitCode = 1;
  } finally {
    workers?.close();
    await browser.close();
  }
})();

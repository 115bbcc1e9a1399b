// The browser half of bench/zip-download: opens SHARE_URL in headless Debian Chromium, downloads
// every file one by one with its own button (plain files, straight from storage), then "Download
// all" (the ZIP written in the page and streamed to disk by the download worker), timing each
// until the browser has the whole file on disk. Samples memory meanwhile (renderer RSS from
// /proc, the page's JS heap and array buffers from DevTools) and checks the ZIP with Python's
// zipfile. Prints one JSON object on stdout.
//
// Needs playwright-core on NODE_PATH (run.sh points it at e2e/node_modules).
"use strict";

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
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
const dir = process.env.BENCH_DIR;
if (!url || !shareUrl || !dir) throw new Error("FERRY_URL, SHARE_URL and BENCH_DIR are required");

/** A field of /proc/<pid>/<file> in bytes (the kernel writes kB). */
function procBytes(pid, file, field) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
    const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
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

/** Every Chromium process with its type, as the browser reports them (renderers are forked from
 * the zygote, so their command lines cannot tell them apart). */
async function processes(session) {
  const { processInfo } = await session.send("SystemInfo.getProcessInfo");
  return processInfo.map((p) => ({ pid: p.id, type: p.type }));
}

/** Samples memory every 250 ms until `stop()`; answers the peaks. */
function sampler(session, cdp) {
  const peaks = { renderer_peak: 0, total_peak: 0, js_heap_peak: 0, page_buffers_peak: 0, cpu: 0 };
  const seen = new Set();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const procs = await processes(session);
        let total = 0;
        for (const p of procs) {
          seen.add(p.pid);
          total += procBytes(p.pid, "smaps_rollup", "Pss");
          if (p.type === "renderer") {
            const rss = procBytes(p.pid, "status", "VmRSS");
            peaks.renderer_peak = Math.max(peaks.renderer_peak, rss);
            if (process.env.BENCH_TRACE) process.stderr.write(`${Date.now()} renderer ${p.pid} ${(rss / 1048576).toFixed(0)} MiB\n`);
          }
        }
        peaks.total_peak = Math.max(peaks.total_peak, total);
        const { metrics } = await cdp.send("Performance.getMetrics");
        const heap = metrics.find((m) => m.name === "JSHeapTotalSize")?.value ?? 0;
        peaks.js_heap_peak = Math.max(peaks.js_heap_peak, heap);
        // Array buffers live outside the JS heap (the chunks of a file being read are ones).
        const usage = await cdp.send("Runtime.getHeapUsage");
        const buffers = usage.backingStorageSize ?? 0;
        peaks.page_buffers_peak = Math.max(peaks.page_buffers_peak, buffers);
        if (process.env.BENCH_TRACE) process.stderr.write(`${Date.now()} page heap ${(usage.usedSize / 1048576).toFixed(0)} MiB, array buffers ${(buffers / 1048576).toFixed(0)} MiB\n`);
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

(async () => {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: FLAGS,
    downloadsPath: path.join(dir, "downloads"),
  });
  try {
    const session = await browser.newBrowserCDPSession();
    const context = await browser.newContext({ acceptDownloads: true, baseURL: url });
    const page = await context.newPage();
    const problems = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.goto(shareUrl);
    await page.getByRole("button", { name: "Download all (ZIP)" }).waitFor();
    const buttons = page.locator(".transfer-list button[data-i]");
    const count = await buttons.count();
    const allPids = async () => (await processes(session)).map((p) => p.pid);

    // Plain files, one after another, each until it is whole on disk.
    execFileSync("sync");
    let memory = sampler(session, cdp);
    let bytes = 0;
    let started = Date.now();
    for (let i = 0; i < count; i++) {
      const downloading = page.waitForEvent("download", { timeout: 0 });
      await buttons.nth(i).click();
      const download = await downloading;
      const file = await download.path();
      bytes += fs.statSync(file).size;
      await download.delete();
    }
    const plainSecs = (Date.now() - started) / 1000;
    const plainMemory = await memory.stop();

    // Download all: one ZIP streamed through the page and the download worker.
    execFileSync("sync");
    const cpuBefore = browserCpu(await allPids());
    const serverBefore = cpu(process.env.FERRY_PID);
    memory = sampler(session, cdp);
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
    const check = JSON.parse(
      execFileSync(
        "python3",
        [
          "-c",
          [
            "import json, sys, zipfile",
            "z = zipfile.ZipFile(sys.argv[1])",
            "infos = z.infolist()",
            "bad = z.testzip()",
            "f = open(sys.argv[1], 'rb'); f.seek(-98, 2); tail = f.read()",
            "print(json.dumps({'bad': bad, 'entries': len(infos), 'bytes': sum(i.file_size for i in infos), 'zip64': b'PK\\x06\\x06' in tail}))",
          ].join("\n"),
          zipPath,
        ],
        { encoding: "utf8", maxBuffer: 1 << 20 },
      ),
    );
    await download.delete();
    const ok = !failure && check.bad === null && check.entries === count && check.bytes === bytes;
    process.stdout.write(
      JSON.stringify({
        files: count,
        bytes,
        problems,
        plain: { secs: plainSecs, mb_s: bytes / 1e6 / plainSecs, ...plainMemory },
        zip: {
          secs: zipSecs,
          mb_s: bytes / 1e6 / zipSecs,
          size: zipSize,
          zip64: check.zip64,
          check: ok ? "ok" : `FAILED (${failure ?? ""} ${JSON.stringify(check)})`,
          browser_cpu_secs: cpuAfter - cpuBefore,
          server_cpu_secs: serverAfter - serverBefore,
          ...zipMemory,
        },
      }) + "\n",
    );
    if (!ok) process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();

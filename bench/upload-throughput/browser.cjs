// The browser half of bench/upload-throughput: signs up through Ferry's hosted sign-in pages
// in headless Debian Chromium, picks BENCH_FILE on the files page, and times the upload until
// the row says "Uploaded" (every part stored and the upload completed) and until the file is
// listed as ready; then the same file again with "Encrypt end to end" on. Samples memory
// meanwhile. Prints one JSON object on stdout.
//
// Needs playwright-core on NODE_PATH (run.sh points it at e2e/node_modules or .tools).
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
const file = process.env.BENCH_FILE;
const BARE_PARALLEL = Number(process.env.BENCH_BARE_PARALLEL ?? "4");
if (!url || !file) throw new Error("FERRY_URL and BENCH_FILE are required");

/** Chromium processes started by this script, as pid → { ppid, cmdline }. */
function chromiumProcesses() {
  const procs = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      procs.set(Number(entry), { ppid, cmdline });
    } catch {
      // Gone meanwhile.
    }
  }
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) {
      if (!mine.has(pid) && mine.has(p.ppid)) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  return [...mine]
    .filter((pid) => pid !== process.pid && /chrom/.test(procs.get(pid)?.cmdline[0] ?? ""))
    .map((pid) => ({ pid, cmdline: procs.get(pid).cmdline }));
}

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

/** Renderer pids as Chromium reports them (zygote-forked renderers keep the zygote's
 * command line, so /proc cannot tell them apart). */
async function rendererPids(browser) {
  const session = await browser.newBrowserCDPSession();
  try {
    const { processInfo } = await session.send("SystemInfo.getProcessInfo");
    return processInfo.filter((p) => p.type === "renderer").map((p) => p.id);
  } finally {
    await session.detach();
  }
}

/** Writes back dirty pages (the previous upload's), so every timed upload starts alike. */
function settle() {
  execFileSync("sync");
}

/** CPU time (user + system) used so far by the Chromium processes and by FERRY_PID, in s. */
function cpuSeconds() {
  const ticks = (pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0;
    }
  };
  // USER_HZ is 100 on Linux.
  const browser = chromiumProcesses().reduce((sum, { pid }) => sum + ticks(pid), 0) / 100;
  const server = process.env.FERRY_PID ? ticks(process.env.FERRY_PID) / 100 : 0;
  return { browser, server };
}

/** CPU time (user + system, in s) of every thread of the Chromium processes so far, by process
 * type and thread name ("renderer/chromium" is a renderer's main thread, "renderer/DedicatedWorker"
 * its Web Workers, "browser/Chrome_IOThread" the browser's I/O thread…). A thread that ended
 * meanwhile is not counted. */
function threadSeconds() {
  const out = {};
  for (const { pid, cmdline } of chromiumProcesses()) {
    const args = cmdline.join(" ");
    const type = (args.match(/--type=([a-z-]+)/) ?? [null, "browser"])[1];
    let tasks = [];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/\d+$/, "");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const key = `${type}/${name}`;
        out[key] = (out[key] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        // Gone meanwhile.
      }
    }
  }
  return out;
}

/** The threads that used at least 0.1 s between two [threadSeconds], busiest first. */
function threadsBetween(before, after) {
  return Object.entries(after)
    .map(([name, secs]) => [name, Math.round((secs - (before[name] ?? 0)) * 100) / 100])
    .filter(([, secs]) => secs >= 0.1)
    .sort((a, b) => b[1] - a[1]);
}

function memory(renderers) {
  let renderer = 0;
  let total = 0;
  // The browser process (no --type; it keeps the blob storage) and every other process but the
  // renderers named --type=renderer (a renderer forked from the zygote keeps its command line).
  let browser = 0;
  let others = 0;
  for (const { pid, cmdline } of chromiumProcesses()) {
    // Proportional set size: shared libraries count once across the processes.
    const pss = procBytes(pid, "smaps_rollup", "Pss");
    total += pss;
    // Chromium rewrites its command line as one string: the type is found in the joined text.
    const line = cmdline.join(" ");
    const type = /crashpad/.test(cmdline[0]) ? "crashpad" : /--type=(\S+)/.exec(line)?.[1];
    if (!type) browser += pss;
    else if (type !== "renderer") others += pss;
  }
  for (const pid of renderers) renderer = Math.max(renderer, procBytes(pid, "status", "VmRSS"));
  return { renderer, total, browser, others };
}

/** Whether memory stayed flat through an upload: the peaks of `key` in each quarter of its
 * samples (by time), and flat when the second half's peak is no higher than the first half's
 * plus `slack`. Memory held until garbage collections saws up and down by several parts, so one
 * sample says little and a straight line fitted through them moved by ±80 MiB from run to run;
 * the highest point of each half is steady: memory that grows with the bytes uploaded sets a
 * higher one in the second half (the plain upload's renderer: +100 to +250 MiB over 3 GiB). */
function quarters(samples, key, slack) {
  const peaks = [0, 0, 0, 0];
  if (samples.length < 4) return { peaks, rise: 0, flat: false };
  const [t0, t1] = [samples[0].t, samples[samples.length - 1].t];
  for (const sample of samples) {
    const q = Math.min(3, Math.floor(((sample.t - t0) / Math.max(t1 - t0, 1)) * 4));
    peaks[q] = Math.max(peaks[q], sample[key]);
  }
  const rise = Math.max(peaks[2], peaks[3]) - Math.max(peaks[0], peaks[1]);
  return { peaks, rise, flat: rise <= slack };
}

/** Chromium's own network emulation (DevTools protocol) on `page`: `latency_ms` added to every
 * request and both directions capped at `mbit` Mbit/s. Per request, not per packet: no TCP slow
 * start or loss, so it shows what waiting on round trips and sharing a link cost. */
async function throttle(page, link) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const bytesPerSec = (link.mbit * 1e6) / 8;
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: link.latency_ms,
    downloadThroughput: bytesPerSec,
    uploadThroughput: bytesPerSec,
  });
  return cdp;
}

/** The browser's own ceiling: a bare page on Ferry's origin (which the storage endpoint's CORS
 * allows) reads each part of `partFile`'s file, hashes it with WebCrypto and PUTs it with XHR to
 * its presigned URL, 4 at once as the app does (BENCH_BARE_PARALLEL: another count) — with no
 * app around it; over `link` if given. */
async function barePage(browser, benchFile = file, partFile = process.env.BARE_PARTS, link = null) {
  const parts = JSON.parse(fs.readFileSync(partFile, "utf8"));
  const page = await browser.newPage({ baseURL: url });
  await page.goto("/api/health");
  if (link) await throttle(page, link);
  await page.evaluate(() => {
    const input = document.createElement("input");
    input.type = "file";
    input.id = "bench-file";
    document.body.append(input);
  });
  await page.setInputFiles("#bench-file", benchFile);
  settle();
  const before = cpuSeconds();
  const result = await page.evaluate(async ([parts, bareParallel]) => {
    const blob = document.getElementById("bench-file").files[0];
    const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
    const put = (part, body) =>
      new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("PUT", part.url);
        for (const { name, value } of part.headers) {
          if (!/^(content-length|host)$/i.test(name)) xhr.setRequestHeader(name, value);
        }
        xhr.upload.onprogress = () => {};
        xhr.onload = () =>
          xhr.status === 200 ? resolve(xhr.getResponseHeader("ETag")) : reject(new Error(`part ${part.number}: HTTP ${xhr.status}`));
        xhr.onerror = () => reject(new Error(`part ${part.number}: network error`));
        xhr.send(body);
      });
    const etags = [];
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < parts.length) {
        const part = parts[next++];
        const slice = blob.slice(part.start, part.end);
        const sha256 = b64(await crypto.subtle.digest("SHA-256", await slice.arrayBuffer()));
        if (sha256 !== part.sha256) throw new Error(`part ${part.number}: checksum differs`);
        etags.push([part.number, await put(part, slice), sha256]);
      }
    };
    await Promise.all(Array.from({ length: bareParallel }, worker));
    return { secs: (performance.now() - started) / 1000, etags: etags.sort((a, b) => a[0] - b[0]) };
  }, [parts, BARE_PARALLEL]);
  const after = cpuSeconds();
  await page.close();
  return {
    ...result,
    browser_cpu_secs: after.browser - before.browser,
    server_cpu_secs: after.server - before.server,
  };
}

/** Link mode: uploads `link.file` through Ferry's files page and then from the bare page, both
 * throttled to `link`. Times Ferry from the drop until the row says "Uploaded" (the parts are
 * stored and the upload completed), and the phases in between. */
async function overLink(browser, page, link) {
  await page.goto("/files");
  await page.getByRole("heading", { level: 1, name: "Your files" }).waitFor();
  const cdp = await throttle(page, link);
  const phases = { firstPut: 0, lastPut: 0, puts: 0 };
  const onRequest = (request) => {
    if (request.method() !== "PUT") return;
    phases.firstPut ||= Date.now();
    phases.puts += 1;
  };
  const onFinished = (request) => {
    if (request.method() === "PUT") phases.lastPut = Date.now();
  };
  page.on("request", onRequest);
  page.on("requestfinished", onFinished);
  const chooser = page.waitForEvent("filechooser");
  settle();
  const started = Date.now();
  await page.getByRole("button", { name: /Drop files/ }).click();
  await (await chooser).setFiles(link.file);
  await page.waitForFunction(
    () => /Uploaded ·/.test(document.querySelector("section.upload-panel")?.textContent ?? ""),
    null,
    { polling: 50, timeout: 0 },
  );
  const sent = (Date.now() - started) / 1000;
  page.off("request", onRequest);
  page.off("requestfinished", onFinished);
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });
  await cdp.detach();
  const bare = await barePage(browser, link.file, link.bare_parts, link);
  return {
    mbit: link.mbit,
    latency_ms: link.latency_ms,
    size: fs.statSync(link.file).size,
    sent_secs: sent,
    before_parts_secs: (phases.firstPut - started) / 1000,
    parts_secs: (phases.lastPut - phases.firstPut) / 1000,
    part_puts: phases.puts,
    bare,
  };
}

/** Uploads BENCH_FILE through the files page (sealed in the page when `encrypted`) and times it
 * until the row says "Uploaded" and, plain, until the file is listed as ready; samples memory. */
async function viaUi(page, cdp, renderers, encrypted, workers) {
  const idle = memory(renderers);
  const peak = { renderer: idle.renderer, total: idle.total, heap: 0, browser: idle.browser, others: idle.others };
  // The page's and the sealing workers' JS heap in use and array buffers (DevTools).
  const arrays = { page_heap: 0, page_buffers: 0, worker_heap: 0, worker_buffers: 0, workers: 0 };
  let sampling = true;
  // Memory footprints as Chromium counts them (Task Manager; on Linux RssAnon + VmSwap: the
  // renderer's without the ~120 MiB of Chromium's code mapped from disk that its RSS includes),
  // every 100 ms between the file's choice and the upload's end, for the trend: read from
  // /proc/<pid>/status only, apart from the slower sampler below (DevTools calls).
  const timeline = [];
  let uploading = false;
  const browserPids = chromiumProcesses()
    .filter(({ cmdline }) => !/--type=/.test(cmdline.join(" ")) && !/crashpad/.test(cmdline[0]))
    .map(({ pid }) => pid);
  const anon = (pid) => procBytes(pid, "status", "RssAnon") + procBytes(pid, "status", "VmSwap");
  const fast = (async () => {
    while (sampling) {
      if (uploading) {
        timeline.push({
          t: Date.now(),
          footprint: Math.max(0, ...renderers.map(anon)),
          browser: browserPids.reduce((sum, pid) => sum + anon(pid), 0),
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const sampler = (async () => {
    while (sampling) {
      const now = memory(renderers);
      peak.renderer = Math.max(peak.renderer, now.renderer);
      peak.total = Math.max(peak.total, now.total);
      peak.browser = Math.max(peak.browser, now.browser);
      peak.others = Math.max(peak.others, now.others);
      try {
        const { metrics } = await cdp.send("Performance.getMetrics");
        const heap = metrics.find((m) => m.name === "JSHeapTotalSize");
        if (heap) peak.heap = Math.max(peak.heap, heap.value);
        const { worker } = await heapPeaks(cdp, workers, arrays);
        arrays.workers = Math.max(arrays.workers, worker.count);
      } catch {
        // The page is busy navigating; next time.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  // Part PUTs as the network sees them.
  const parts = new Set();
  let puts = 0;
  let partBytes = 0;
  // When the first part left, the last one arrived, and how long completing took.
  const phases = { firstPut: 0, lastPut: 0, completeStart: 0, completeEnd: 0 };
  const onFinished = (request) => {
    if (request.method() === "PUT") phases.lastPut = Date.now();
    if (request.method() === "POST" && /\/complete$/.test(request.url())) phases.completeEnd = Date.now();
  };
  const onRequest = (request) => {
    if (request.method() === "POST" && /\/complete$/.test(request.url())) phases.completeStart = Date.now();
    if (request.method() !== "PUT") return;
    phases.firstPut ||= Date.now();
    const number = new URL(request.url()).searchParams.get("partNumber");
    puts += 1;
    if (number) {
      parts.add(number);
      if (number === "1") partBytes = Number(request.headers()["content-length"] ?? 0);
    }
  };
  page.on("requestfinished", onFinished);
  page.on("request", onRequest);

  const name = path.basename(file);
  const chooser = page.waitForEvent("filechooser");
  settle();
  const cpuBefore = cpuSeconds();
  const threadsBefore = threadSeconds();
  const started = Date.now();
  uploading = true;
  await page.getByRole("button", { name: /Drop files/ }).click();
  await (await chooser).setFiles(file);
  await page.waitForFunction(
    () => /Uploaded ·/.test(document.querySelector("section.upload-panel")?.textContent ?? ""),
    null,
    { polling: 50, timeout: 0 },
  );
  const sent = (Date.now() - started) / 1000;
  uploading = false;
  const cpuAfter = cpuSeconds();
  const threads = threadsBetween(threadsBefore, threadSeconds());
  // An encrypted file is listed under its sealed name: only the plain one is waited for.
  if (!encrypted) await page.getByRole("button", { name: `Download ${name}` }).waitFor({ timeout: 120_000 });
  const ready = (Date.now() - started) / 1000;
  sampling = false;
  await sampler;
  await fast;
  page.off("requestfinished", onFinished);
  page.off("request", onRequest);

  const size = fs.statSync(file).size;
  // The first part's Content-Length when the request shows it, else the whole MiB the API's
  // parts must be for this many of them.
  const partSize = partBytes || Math.ceil(size / Math.max(parts.size, 1) / 1048576) * 1048576;
  return {
    sent_secs: sent,
    before_parts_secs: (phases.firstPut - started) / 1000,
    parts_secs: (phases.lastPut - phases.firstPut) / 1000,
    complete_secs: (phases.completeEnd - phases.completeStart) / 1000,
    ready_secs: ready,
    parts: parts.size,
    part_puts: puts,
    part_mib: Math.round(partSize / 1048576),
    parallel: 4,
    size,
    peak_renderer_rss: peak.renderer,
    peak_chromium_rss: peak.total,
    idle_chromium_rss: idle.total,
    peak_js_heap: peak.heap,
    peak_arrays: arrays,
    peak_browser_process: peak.browser,
    idle_browser_process: idle.browser,
    peak_other_processes: peak.others,
    // Slack: two 32 MiB parts (the parts alive at once vary by one or two with timing).
    renderer_footprint: quarters(timeline, "footprint", 64 * 1048576),
    browser_footprint: quarters(timeline, "browser", 64 * 1048576),
    samples: timeline.length,
    // Seconds since the first sample, renderer and browser process footprints in MiB.
    timeline: timeline.map((x) => [
      Math.round((x.t - (timeline[0]?.t ?? 0)) / 100) / 10,
      Math.round(x.footprint / 1048576),
      Math.round(x.browser / 1048576),
    ]),
    browser_cpu_secs: cpuAfter.browser - cpuBefore.browser,
    server_cpu_secs: cpuAfter.server - cpuBefore.server,
    cpu_threads: threads,
  };
}

(async () => {
  const port = await freePort();
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [...FLAGS, `--remote-debugging-port=${port}`, "--remote-debugging-address=127.0.0.1"],
  });
  const workers = await workerWatch(port, "worker");
  try {
    const page = await browser.newPage({ baseURL: url });
    const email = `bench-${Date.now().toString(36)}@example.com`;
    await page.goto("/files");
    await page.getByRole("link", { name: "Create an account" }).click();
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("bench-Passw0rd-1");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(/\/files$/);
    await page.getByRole("heading", { level: 1, name: "Your files" }).waitFor();

    if (process.env.BENCH_LINKS) {
      const links = [];
      for (const link of JSON.parse(process.env.BENCH_LINKS)) {
        links.push(await overLink(browser, page, link));
      }
      process.stdout.write(JSON.stringify({ links }) + "\n");
      return;
    }

    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    const renderers = await rendererPids(browser);
    const plain = await viaUi(page, cdp, renderers, false, workers);
    // The same file again with "Encrypt end to end" on: sealed part by part in the page.
    await page.waitForFunction(
      () => !/Uploaded ·/.test(document.querySelector("section.upload-panel")?.textContent ?? ""),
      null,
      { polling: 100, timeout: 0 },
    );
    await page.getByRole("checkbox", { name: "Encrypt end to end" }).check();
    const encrypted = await viaUi(page, cdp, renderers, true, workers);
    await page.getByRole("checkbox", { name: "Encrypt end to end" }).uncheck();

    const bare = await barePage(browser);

    process.stdout.write(JSON.stringify({ ...plain, encrypted, bare }) + "\n");
  } finally {
    workers.close();
    await browser.close();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * A 1 GiB file goes up in parallel parts, survives a page reload half-way, resumes with only the
 * parts storage lacks, and comes back byte for byte.
 *
 * The run's stack limits files to 110 MiB (journey 5 depends on that), so this journey starts a
 * second `ferry serve` of its own with room for 1 GiB (`startStack` in `stack.ts`).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

import type { Page, Request } from "@playwright/test";

import { MiB } from "../limits";
import { siteDir, startStack, type Stack } from "../stack";
import {
  acceptLeaving,
  createShare,
  closeDialog,
  expect,
  expectReady,
  fileRow,
  pickFiles,
  progressSeen,
  recordProgress,
  signUp,
  test as base,
  walk,
} from "./fixtures";

const GiB = 1024 * MiB;
const SIZE = GiB;
/** What the API picks for 1 GiB (`PartLayout::for_size`: about size / 32, 8 to 32 MiB). */
const PART_SIZE = 32 * MiB;
const PART_COUNT = SIZE / PART_SIZE;
/** Parts the browser sends at once (`PARALLEL_PARTS` in app/src/upload/schedule.rs). */
const PARALLEL = 4;
/** The reload comes once the bar passes this. */
const RELOAD_AT_PERCENT = 40;
const NAME = "disk-image-1GiB.bin";

/** A stack of its own with room for 1 GiB, up for this test only. */
const test = base.extend<{ bigStack: Stack }>({
  bigStack: async ({}, use) => {
    const stack = await startStack({
      siteDir: siteDir(),
      limits: { maxFileSize: 2 * GiB, userQuota: 3 * GiB, multipartThreshold: 64 * MiB },
      logName: "e2e-ferry-multipart.log",
    });
    await use(stack);
    await stack.stop();
  },
  baseURL: async ({ bigStack }, use) => {
    await use(bigStack.url);
  },
});

/**
 * `size` bytes that differ in every MiB (a random 4 MiB pool, each MiB stamped with its index),
 * written in 1 MiB chunks; returns the SHA-256 (hex) and the composite checksum S3 computes for
 * `partSize` parts (base64 SHA-256 of the parts' digests, then `-<count>`).
 */
function bigFile(file: string, size: number, partSize: number): { sha256: string; composite: string } {
  const whole = crypto.createHash("sha256");
  const partDigests: Buffer[] = [];
  let part = crypto.createHash("sha256");
  let inPart = 0;
  const pool = crypto.randomBytes(4 * MiB);
  const fd = fs.openSync(file, "w");
  try {
    for (let offset = 0, index = 0; offset < size; index++) {
      const len = Math.min(MiB, size - offset);
      const start = (index * 7919 * 4096) % (pool.length - MiB);
      const chunk = Buffer.from(pool.subarray(start, start + len));
      for (let at = 0; at + 8 <= len; at += 64 * 1024) chunk.writeUInt32LE(index, at);
      fs.writeSync(fd, chunk);
      whole.update(chunk);
      part.update(chunk);
      offset += len;
      inPart += len;
      if (inPart === partSize || offset === size) {
        partDigests.push(part.digest());
        part = crypto.createHash("sha256");
        inPart = 0;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  const composite = `${crypto.createHash("sha256").update(Buffer.concat(partDigests)).digest("base64")}-${partDigests.length}`;
  return { sha256: whole.digest("hex"), composite };
}

type PartPut = { number: number; bytes: number; phase: "first" | "resumed"; outcome?: "ok" | "failed" };

/** Watches the part PUTs to object storage: how many are in flight, and what each carried. */
function watchParts(page: Page, s3Url: string) {
  const state = {
    phase: "first" as PartPut["phase"],
    inFlight: 0,
    maxInFlight: { first: 0, resumed: 0 },
    puts: [] as PartPut[],
    open: new Map<Request, PartPut>(),
    failed: [] as string[],
    /** Resolves once every finished request's size has been read. */
    settled: async () => {},
  };
  const isPart = (r: Request) => r.method() === "PUT" && r.url().startsWith(`${s3Url}/`);
  page.on("request", (request) => {
    if (!isPart(request)) return;
    const number = Number(new URL(request.url()).searchParams.get("partNumber"));
    const put: PartPut = { number, bytes: 0, phase: state.phase };
    state.puts.push(put);
    state.open.set(request, put);
    state.inFlight++;
    state.maxInFlight[state.phase] = Math.max(state.maxInFlight[state.phase], state.inFlight);
  });
  // In flight from the request until storage answers (or the request fails).
  const answered = new Set<Request>();
  const land = (request: Request) => {
    if (!state.open.has(request) || answered.has(request)) return;
    answered.add(request);
    state.inFlight--;
  };
  page.on("response", (response) => land(response.request()));
  const settle = async (request: Request, outcome: "ok" | "failed") => {
    const put = state.open.get(request);
    if (!put) return;
    land(request);
    state.open.delete(request);
    answered.delete(request);
    put.outcome = outcome;
    if (outcome === "failed") {
      state.failed.push(`${put.phase} part ${put.number}: ${request.failure()?.errorText}`);
    } else {
      // The body's length as sent (a Blob slice: no postData to read; the presigned URL signs
      // `content-length`, so the header is always there).
      put.bytes = Number((await request.allHeaders())["content-length"] ?? NaN);
    }
  };
  const pending: Promise<void>[] = [];
  page.on("requestfinished", (request) => void pending.push(settle(request, "ok")));
  page.on("requestfailed", (request) => void pending.push(settle(request, "failed")));
  state.settled = () => Promise.all(pending).then(() => undefined);
  return state;
}

test("a 1 GiB file uploads in parallel parts, resumes after a reload with only the missing parts, and downloads intact", async ({ page, bigStack, guard, visitorContext }) => {
  test.setTimeout(240_000);
  // The reload cuts off the requests on their way (part PUTs, a batch of part URLs): allowed
  // until the upload resumes; the part PUTs are counted below.
  let reloading = true;
  const cutOff = new RegExp(
    `^request failed: (PUT ${escape(bigStack.s3Url)}/ferry-files/\\S*[?&]partNumber=\\d+\\S*|POST ${escape(bigStack.url)}/api/files/[^/?\\s]+/parts) \\(net::ERR_ABORTED\\)$`,
  );
  guard.allow(Object.assign(new RegExp(cutOff), { test: (line: string) => reloading && cutOff.test(line) }));

  const started = Date.now();
  const file = path.join(bigStack.filesDir, NAME);
  const original = bigFile(file, SIZE, PART_SIZE);
  const timings: string[] = [`file written in ${((Date.now() - started) / 1000).toFixed(1)} s`];
  const mark = (what: string) => timings.push(`${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);

  try {
    const bearer = watchBearer(page);
    await signUp(page, "resume");
    const parts = watchParts(page, bigStack.s3Url);
    await recordProgress(page);

    // Pick it: the upload is created in parts, and several go at once.
    const created = page.waitForResponse(
      (r) => r.request().method() === "POST" && r.url().endsWith("/api/uploads/multipart"),
    );
    await pickFiles(page, [file]);
    const ticket = await (await created).json();
    expect(ticket.part_size).toBe(PART_SIZE);
    expect(ticket.part_count).toBe(PART_COUNT);
    const fileId: string = ticket.file.id;

    const panel = page.getByRole("region", { name: "Uploads", exact: true });
    const row = panel.getByRole("listitem").filter({ hasText: NAME });
    await expect(row.getByRole("button", { name: `Pause upload of ${NAME}` })).toBeVisible();
    await page.waitForFunction(
      ([name, at]) =>
        Number(document.querySelector(`[role=progressbar][aria-label="Upload of ${name}"]`)?.getAttribute("aria-valuenow")) >= at,
      [NAME, RELOAD_AT_PERCENT] as const,
      { polling: 100, timeout: 120_000 },
    );
    mark(`${RELOAD_AT_PERCENT} % reached`);
    const before = (await progressSeen(page))[`Upload of ${NAME}`] ?? [];
    expect(parts.maxInFlight.first, "part PUTs in flight at once before the reload").toBeGreaterThan(1);
    expect(parts.maxInFlight.first).toBeLessThanOrEqual(PARALLEL);
    expect(before.filter((v) => v > 0 && v < RELOAD_AT_PERCENT).length, `the bar advanced step by step: ${before}`).toBeGreaterThanOrEqual(3);
    expect(before.every((v, i) => i === 0 || v >= before[i - 1]), `the bar never goes back: ${before}`).toBe(true);

    // Reload half-way, preferably with parts on their way (cut off then); the parts in flight
    // between two part answers are briefly fewer.
    for (const until = Date.now() + 5_000; parts.inFlight < 2 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const inFlightAtReload = parts.inFlight;
    acceptLeaving(page);
    await page.reload();
    mark("reloaded");
    await expect(page.getByRole("heading", { level: 1, name: "Your files" })).toBeVisible();
    // Let the aborted PUTs report before counting what comes next.
    await expect.poll(() => parts.open.size, { timeout: 10_000 }).toBe(0);
    parts.phase = "resumed";
    reloading = false;
    const cutOffParts = parts.puts.filter((p) => p.outcome === "failed").length;

    // The page remembers the unfinished upload; the server lists what it holds.
    const unfinished = page.getByRole("region", { name: "Unfinished uploads" });
    await expect(unfinished).toContainText(NAME);
    await expect(unfinished).toContainText(new RegExp(`\\d+ of ${PART_COUNT} parts sent`));
    await expect(fileRow(page, NAME)).toContainText("Processing");
    const listedBefore = await listParts(page, bearer, fileId);
    const storedNumbers = new Set(listedBefore.parts.map((p) => p.number));
    const storedBytes = listedBefore.parts.reduce((sum, p) => sum + p.size, 0);
    expect(listedBefore.part_count).toBe(PART_COUNT);
    // The bar shows stored parts plus the bytes of the parts on their way (`progress_bytes` in
    // app/src/upload/schedule.rs), rounded to a whole percent; at most PARALLEL parts are on their way,
    // so storage holds what the bar showed less at most PARALLEL parts of the API's part size.
    const onTheirWay = PARALLEL * ticket.part_size;
    const shown = ((RELOAD_AT_PERCENT - 0.5) / 100) * SIZE;
    expect(storedBytes, `storage holds what the bar showed, less ${PARALLEL} parts on their way`).toBeGreaterThanOrEqual(shown - onTheirWay);
    expect(storedBytes).toBeLessThan(SIZE);

    // Pick the same file again: it resumes from what storage holds.
    await recordProgress(page);
    const appListed = page.waitForResponse(
      // The app percent-encodes the id's dashes.
      (r) => r.request().method() === "GET" && decodeURIComponent(new URL(r.url()).pathname) === `/api/files/${fileId}/parts`,
    );
    await pickFiles(page, [file]);
    await expect(row).toContainText(`Resuming — ${storedNumbers.size} of ${PART_COUNT} parts already uploaded`);
    expect((await (await appListed).json()).parts.length, "the app asked storage what it holds").toBe(storedNumbers.size);
    await expect(unfinished).toBeHidden();
    mark("resumed");

    await expect(row).toContainText(/Uploaded ·/, { timeout: 150_000 });
    mark("uploaded");
    await expectReady(page, NAME, 60_000);
    mark("ready");

    // Only the missing parts went after the reload.
    await parts.settled();
    const resumed = parts.puts.filter((p) => p.phase === "resumed");
    const sentAfter = resumed.reduce((sum, p) => sum + p.bytes, 0);
    const missing = SIZE - storedBytes;
    const resent = resumed.filter((p) => storedNumbers.has(p.number)).map((p) => p.number);
    const summary =
      `stored at reload ${storedNumbers.size}/${PART_COUNT} parts (${(storedBytes / MiB).toFixed(0)} MiB), ` +
      `${inFlightAtReload} in flight and ${cutOffParts} cut off by the reload; ` +
      `after resume ${resumed.length} PUTs, ${(sentAfter / MiB).toFixed(0)} MiB, at most ${parts.maxInFlight.resumed} at once; ` +
      `resent: [${resent}]; failed: [${parts.failed}]`;
    console.log(`multipart resume: ${summary}; ${timings.join(", ")}`);
    expect(resumed.every((p) => p.outcome === "ok" && p.bytes > 0 && p.bytes <= PART_SIZE), `every part PUT carried its bytes: ${summary}`).toBe(true);
    expect(sentAfter, summary).toBeLessThan(SIZE);
    expect(Math.abs(sentAfter - missing), summary).toBeLessThanOrEqual(PARALLEL * PART_SIZE);
    expect(resumed.filter((p) => p.outcome === "failed"), `no part failed after the resume: ${summary}`).toEqual([]);
    expect(new Set(resumed.map((p) => p.number)).size, summary).toBe(PART_COUNT - storedNumbers.size + new Set(resent).size);
    expect(parts.maxInFlight.resumed, "part PUTs in flight at once after the resume").toBeGreaterThan(1);

    // The bar carried on from what storage held, never back, to 100 %.
    const after = (await progressSeen(page))[`Upload of ${NAME}`] ?? [];
    const heldPercent = Math.floor((storedBytes * 100) / SIZE);
    expect(after.filter((v) => v > 0).every((v) => v >= heldPercent), `after the resume the bar starts at ${heldPercent} %: ${after}`).toBe(true);
    expect(after.every((v, i) => i === 0 || v >= after[i - 1]), `the bar never goes back: ${after}`).toBe(true);
    expect(after).toContain(100);

    // Downloaded through the app: the very same bytes.
    const downloading = page.waitForEvent("download");
    await page.getByRole("button", { name: `Download ${NAME}` }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe(NAME);
    // Chromium writes it to Playwright's download folder: hash it there (streaming it through
    // Playwright's protocol instead takes several times longer).
    const saved = await download.path();
    mark("downloaded");
    expect(fs.statSync(saved).size).toBe(SIZE);
    expect(await sha256Of(saved), "SHA-256 of the download").toBe(original.sha256);
    await download.delete();
    mark("download checked");

    // Shared without a limit: the public page shows the composite checksum storage verified.
    const url = await createShare(page, NAME);
    await closeDialog(page, `Share “${NAME}”`);
    const visitor = await (await visitorContext()).newPage();
    await visitor.goto(url);
    await expect(visitor.getByRole("heading", { level: 1, name: NAME })).toBeVisible();
    await visitor.getByText("Verify the download").click();
    await expect(visitor.getByText("Composite SHA-256 (multipart):")).toBeVisible();
    await expect(visitor.getByText(original.composite, { exact: true })).toBeVisible();
    await expect(visitor.getByText(`Uploaded in ${PART_COUNT} parts of ${PART_SIZE / MiB} MiB`)).toBeVisible();

    // Deleted: the 1 GiB leaves storage.
    const bucket = path.join(bigStack.dataDir, "s3", "ferry-files");
    const storedTotal = () => walk(bucket).reduce((sum, f) => sum + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
    expect(storedTotal(), "the object in the bucket").toBeGreaterThanOrEqual(SIZE);
    await page.getByRole("button", { name: `Delete ${NAME}` }).click();
    const del = page.getByRole("dialog", { name: "Delete this file?" });
    await del.getByRole("button", { name: "Delete" }).click();
    await expect(del).toBeHidden();
    await expect(fileRow(page, NAME)).toHaveCount(0);
    await expect.poll(storedTotal, { timeout: 15_000, message: "bytes left in the bucket" }).toBeLessThan(MiB);
    mark("deleted");
    console.log(`multipart resume: ${timings.join(", ")}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function sha256Of(file: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

type Listed = { part_size: number; part_count: number; parts: { number: number; size: number }[] };

/**
 * `GET /api/files/{id}/parts` as the signed-in page: with the bearer token its app sent last
 * (`watchBearer`).
 */
async function listParts(page: Page, bearer: () => string | undefined, fileId: string): Promise<Listed> {
  const authorization = bearer();
  expect(authorization, "the app's bearer token").toMatch(/^Bearer /);
  const response = await page.request.get(`/api/files/${fileId}/parts`, { headers: { authorization: authorization! } });
  expect(response.status(), await response.text()).toBe(200);
  return (await response.json()) as Listed;
}

/** Remembers the `Authorization` header of the page's latest API request. */
function watchBearer(page: Page): () => string | undefined {
  let last: string | undefined;
  page.on("request", (request) => {
    const value = request.headers()["authorization"];
    if (value && new URL(request.url()).pathname.startsWith("/api/")) last = value;
  });
  return () => last;
}

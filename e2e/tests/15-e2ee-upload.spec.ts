/**
 * End-to-end encrypted uploads through the app's own upload screens (#15): "Encrypt end to end"
 * on, a 1 GiB file sealed part by part in the browser survives a reload half-way and resumes
 * with only the parts storage lacks; a 20-file folder goes up sealed, paths inside the sealed
 * metadata. A stranger with the link (its `#k=` key) downloads both intact; the stored objects,
 * the metadata store and the server log hold no plaintext marker and no file name; a flipped
 * stored byte stops the download with the reason.
 *
 * The link's key is read from the owner's key ring (`localStorage`, `ferry.e2ee.keys.v1`) and
 * the link made through the API: the owner's share dialog adds the key itself elsewhere.
 * Each test runs a stack of its own (room for 1 GiB; its own data dir and log to search).
 */
import * as crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

import type { Page } from "@playwright/test";

import { MiB } from "../limits";
import { siteDir, startStack, type Stack } from "../stack";
import { acceptLeaving, expect, pickFiles, signUp, test as base, walk } from "./fixtures";

const GiB = 1024 * MiB;
/** Ciphertext bytes per record, and the plaintext each full record holds. */
const RS = 64 * 1024;
const DATA = RS - 17;
const MARKER = "FERRY-E2EE-UPLOAD-MARKER-51c9";
const RELOAD_AT_PERCENT = 40;

const cipherSize = (plain: number) => plain + 17 * Math.max(1, Math.ceil(plain / DATA));

const test = base.extend<{ stack: Stack }>({
  stack: async ({}, use) => {
    const stack = await startStack({
      siteDir: siteDir(),
      limits: { maxFileSize: 2 * GiB, userQuota: 3 * GiB, multipartThreshold: 64 * MiB },
      logName: "e2e-ferry-e2ee-upload.log",
    });
    await use(stack);
    await stack.stop();
  },
  baseURL: async ({ stack }, use) => {
    await use(stack.url);
  },
});

/** `size` bytes on disk, written 1 MiB at a time, each MiB starting with the marker; the SHA-256. */
function markedFile(file: string, size: number): string {
  const hash = crypto.createHash("sha256");
  const pool = crypto.randomBytes(4 * MiB);
  const fd = fs.openSync(file, "w");
  try {
    for (let offset = 0, index = 0; offset < size; index++) {
      const len = Math.min(MiB, size - offset);
      const start = (index * 7919 * 4096) % (pool.length - MiB);
      const chunk = Buffer.from(pool.subarray(start, start + len));
      chunk.write(MARKER, 0, Math.min(len, MARKER.length), "latin1");
      chunk.writeUInt32LE(index, Math.min(len - 4, MARKER.length));
      fs.writeSync(fd, chunk);
      hash.update(chunk);
      offset += len;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

async function sha256Of(file: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Whether `file` contains any of `needles`, read in 4 MiB chunks that overlap. */
async function contains(file: string, needles: string[]): Promise<string | null> {
  const wanted = needles.map((n) => Buffer.from(n, "utf8"));
  const overlap = Math.max(...wanted.map((w) => w.length));
  let tail = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 4 * MiB })) {
    const window = Buffer.concat([tail, chunk as Buffer]);
    for (const [i, w] of wanted.entries()) if (window.includes(w)) return needles[i];
    tail = window.subarray(Math.max(0, window.length - overlap));
  }
  return null;
}

/** Remembers the `Authorization` header of the page's latest API request. */
function watchBearer(page: Page): () => string {
  let last = "";
  page.on("request", (request) => {
    const value = request.headers()["authorization"];
    if (value && new URL(request.url()).pathname.startsWith("/api/")) last = value;
  });
  return () => last;
}

/** The upload announcements the page sends (`POST /api/uploads[/multipart]`) and their tickets. */
function watchAnnouncements(page: Page) {
  const seen: { body: Record<string, unknown>; fileId: Promise<string> }[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (request.method() !== "POST" || !/^\/api\/uploads(\/multipart)?$/.test(url.pathname)) return;
    seen.push({
      body: request.postDataJSON(),
      fileId: request.response().then(async (r) => (await r!.json()).file.id as string),
    });
  });
  return seen;
}

/** The link of `fileIds` (made through the API as the owner) with the key this device holds. */
async function encryptedLink(page: Page, bearer: () => string, fileIds: string[]): Promise<string> {
  const ring = await page.evaluate(() => JSON.parse(localStorage.getItem("ferry.e2ee.keys.v1") ?? "{}"));
  const keys = new Set(fileIds.map((id) => ring.keys?.[ring.files?.[id]]));
  expect(keys.size, "one key for the whole drop").toBe(1);
  const [key] = [...keys];
  expect(key, "the key ring holds the drop's key").toMatch(/^[A-Za-z0-9_-]{43}$/);
  const created = await page.request.post("/api/shares", {
    headers: { authorization: bearer() },
    data: { file_ids: fileIds, max_downloads: 20 },
  });
  expect(created.status(), await created.text()).toBe(201);
  const share = await created.json();
  expect(share.encrypted).toBe(true);
  return `${share.url}#k=${key}`;
}

/** Turns "Encrypt end to end" on from the keyboard. */
async function encryptOn(page: Page): Promise<void> {
  const toggle = page.getByRole("checkbox", { name: "Encrypt end to end" });
  await expect(toggle).not.toBeChecked();
  await toggle.focus();
  await page.keyboard.press("Space");
  await expect(toggle).toBeChecked();
}

/** Neither the metadata store nor the server log names any of `names`. */
async function expectNoNames(stack: Stack, names: string[]): Promise<void> {
  const s3 = path.join(stack.dataDir, "s3");
  const meta = walk(stack.dataDir).filter((f) => !f.startsWith(s3));
  expect(meta.some((f) => f.endsWith(".redb")), `a metadata store among ${meta}`).toBe(true);
  for (const file of [...meta, stack.logFile]) {
    expect(await contains(file, names), `${file} names an encrypted file`).toBeNull();
  }
}

test("a 1 GiB encrypted upload resumes after a reload and a stranger with the link downloads it intact", async ({ page, stack, guard, visitorContext }) => {
  test.setTimeout(600_000);
  let reloading = true;
  const cutOff = /^request failed: (PUT \S*[?&]partNumber=\d+\S*|POST \S*\/api\/files\/[^/?\s]+\/parts) \(net::ERR_ABORTED\)$/;
  guard.allow(Object.assign(new RegExp(cutOff), { test: (line: string) => reloading && cutOff.test(line) }));

  const name = `sealed-film-${crypto.randomBytes(4).toString("hex")}.bin`;
  const file = path.join(stack.filesDir, name);
  const original = markedFile(file, GiB);
  const bearer = watchBearer(page);
  await signUp(page, "e2ee-up");
  await encryptOn(page);

  const announced = watchAnnouncements(page);
  const puts: { number: number; after: boolean }[] = [];
  let after = false;
  page.on("request", (r) => {
    const number = new URL(r.url()).searchParams.get("partNumber");
    if (r.method() === "PUT" && number) puts.push({ number: Number(number), after });
  });
  await pickFiles(page, [file]);
  await expect.poll(() => announced.length).toBe(1);
  const body = announced[0].body;
  expect(body, "the server is told the ciphertext's size and nothing of the name").toMatchObject({ name: "encrypted", size: cipherSize(GiB) });
  expect(JSON.stringify(body)).not.toContain(name);
  const fileId = await announced[0].fileId;

  await page.waitForFunction(
    ([n, at]) => Number(document.querySelector(`[role=progressbar][aria-label="Upload of ${n}"]`)?.getAttribute("aria-valuenow")) >= at,
    [name, RELOAD_AT_PERCENT] as const,
    { polling: 100, timeout: 300_000 },
  );
  acceptLeaving(page);
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: "Your files" })).toBeVisible();
  await expect(page.getByRole("checkbox", { name: "Encrypt end to end" }), "this device remembers the choice").toBeChecked();
  const listed = await page.request.get(`/api/files/${fileId}/parts`, { headers: { authorization: bearer() } });
  expect(listed.status()).toBe(200);
  const { parts: storedParts, part_count: partCount } = await listed.json();
  const stored = new Set<number>(storedParts.map((p: { number: number }) => p.number));
  expect(stored.size).toBeGreaterThan(0);
  reloading = false;
  after = true;

  await pickFiles(page, [file]);
  const row = page.getByRole("region", { name: "Uploads", exact: true }).getByRole("listitem").filter({ hasText: name });
  await expect(row).toContainText(`Resuming — ${stored.size} of ${partCount} parts already uploaded`);
  await expect(row).toContainText(/Uploaded ·/, { timeout: 400_000 });
  expect(announced.length, "the resume announced no new upload").toBe(1);
  const resent = puts.filter((p) => p.after && stored.has(p.number)).map((p) => p.number);
  expect(resent, "parts storage held were not sent again").toEqual([]);
  await expect
    .poll(async () => (await (await page.request.get(`/api/files/${fileId}`, { headers: { authorization: bearer() } })).json()).status, { timeout: 120_000 })
    .toBe("ready");

  // Nothing in the clear: no stored object holds the marker; no store or log holds the name.
  const bucket = path.join(stack.dataDir, "s3", "ferry-files");
  for (const object of walk(bucket)) expect(await contains(object, [MARKER]), object).toBeNull();
  await expectNoNames(stack, [name]);

  // A stranger opens the link with its key and downloads the plaintext.
  const link = await encryptedLink(page, bearer, [fileId]);
  const stranger = await (await visitorContext()).newPage();
  await stranger.goto(link);
  await expect(stranger.getByText(name, { exact: true })).toBeVisible();
  const downloading = stranger.waitForEvent("download");
  await stranger.getByRole("button", { name: `Download ${name}`, exact: true }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(name);
  const saved = await download.path();
  expect(await download.failure()).toBeNull();
  expect(fs.statSync(saved).size).toBe(GiB);
  expect(await sha256Of(saved), "SHA-256 of the stranger's download").toBe(original);
  await download.delete();
  fs.rmSync(file, { force: true });
});

test("an encrypted folder of 20 files: Download all holds every path and byte; nothing named or stored in the clear; a flipped byte is refused", async ({ page, stack, guard, visitorContext }) => {
  test.setTimeout(300_000);
  guard.allow(/__ferry\/zip|ferry-files/);
  const tag = crypto.randomBytes(3).toString("hex");
  const root = path.join(stack.filesDir, `Geheim-${tag}`);
  const expected = new Map<string, string>();
  const sizes = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    const folder = i < 8 ? "" : i < 15 ? `plans-${tag}` : `été-${tag}/deep`;
    const rel = path.join(folder, `note-${String(i).padStart(2, "0")}-Zürich-${tag}.bin`);
    const size = [0, 5, DATA - MARKER.length, DATA, DATA + 1, 3 * DATA + 99][i % 6] + 1_000 * i;
    const bytes = Buffer.concat([Buffer.from(MARKER), crypto.randomBytes(size)]);
    fs.mkdirSync(path.join(root, folder), { recursive: true });
    fs.writeFileSync(path.join(root, rel), bytes);
    const zipPath = `Geheim-${tag}/${rel.split(path.sep).join("/")}`;
    expected.set(zipPath, crypto.createHash("sha256").update(bytes).digest("hex"));
    sizes.set(zipPath, bytes.length);
  }
  const names = [...expected.keys()].flatMap((p) => p.split("/"));

  const bearer = watchBearer(page);
  await signUp(page, "e2ee-folder");
  await encryptOn(page);
  const announced = watchAnnouncements(page);
  const chooser = page.waitForEvent("filechooser");
  await page.getByRole("button", { name: "Upload a folder" }).click();
  await (await chooser).setFiles(root);
  const panel = page.getByRole("region", { name: "Uploads", exact: true });
  await expect.poll(() => announced.length, { timeout: 60_000 }).toBe(20);
  for (const { body } of announced) {
    expect(body).toMatchObject({ name: "encrypted" });
    expect(body.folder, "the server gets no folder").toBeUndefined();
    for (const n of names) expect(JSON.stringify(body)).not.toContain(n);
  }
  const fileIds = await Promise.all(announced.map((a) => a.fileId));
  for (const id of fileIds) {
    await expect
      .poll(async () => (await (await page.request.get(`/api/files/${id}`, { headers: { authorization: bearer() } })).json()).status, { timeout: 120_000 })
      .toBe("ready");
  }
  await expect(panel.getByText(/failed/i)).toHaveCount(0);

  const bucket = path.join(stack.dataDir, "s3", "ferry-files");
  const objects = walk(bucket);
  for (const object of objects) expect(await contains(object, [MARKER]), object).toBeNull();
  await expectNoNames(stack, names);

  const link = await encryptedLink(page, bearer, fileIds);
  const stranger = await (await visitorContext()).newPage();
  await stranger.goto(link);
  const zipping = stranger.waitForEvent("download");
  await stranger.getByRole("button", { name: "Download all (ZIP)" }).click();
  const zipDownload = await zipping;
  const zip = path.join(stack.filesDir, "all.zip");
  await zipDownload.saveAs(zip);
  expect(await zipDownload.failure()).toBeNull();
  const script = [
    "import hashlib, json, sys, zipfile",
    "with zipfile.ZipFile(sys.argv[1]) as z:",
    "    bad = z.testzip()",
    "    entries = {i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist() if not i.is_dir()}",
    "print(json.dumps({'bad': bad, 'entries': entries}))",
  ].join("\n");
  const read = JSON.parse(execFileSync("python3", ["-c", script, zip], { encoding: "utf8", maxBuffer: 1 << 20 }));
  expect(read.bad).toBeNull();
  expect(new Map(Object.entries(read.entries)), "every path and every byte").toEqual(expected);

  // One stored byte flipped: that file's download stops with the reason.
  const [victimPath, victimSize] = [...sizes].find(([, size]) => [...sizes.values()].filter((s) => s === size).length === 1 && size > RS)!;
  const victim = objects.filter((o) => fs.statSync(o).size === cipherSize(victimSize));
  expect(victim, `the object of ${victimPath}`).toHaveLength(1);
  const bytes = fs.readFileSync(victim[0]);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  fs.writeFileSync(victim[0], bytes);
  const victimName = victimPath.split("/").pop()!;
  await stranger.reload();
  await stranger.getByRole("button", { name: `Download ${victimName}`, exact: true }).click();
  await expect(stranger.getByRole("alert")).toContainText(`“${victimName}” failed its integrity check`);
  await expect(stranger.getByText("The file was not saved.")).toBeVisible();
});

test("an encrypted upload whose key this browser lost says so instead of resuming, and Retry starts it afresh", async ({ page, stack, guard }) => {
  test.setTimeout(240_000);
  let reloading = true;
  const cutOff = /^request failed: (PUT \S*[?&]partNumber=\d+\S*|POST \S*\/api\/files\/[^/?\s]+\/parts) \(net::ERR_ABORTED\)$/;
  guard.allow(Object.assign(new RegExp(cutOff), { test: (line: string) => reloading && cutOff.test(line) }));
  const name = `keyless-${crypto.randomBytes(3).toString("hex")}.bin`;
  const file = path.join(stack.filesDir, name);
  const original = markedFile(file, 96 * MiB);
  const bearer = watchBearer(page);
  await signUp(page, "e2ee-keyless");
  await encryptOn(page);
  const announced = watchAnnouncements(page);
  await pickFiles(page, [file]);
  await page.waitForFunction(
    (n) => Number(document.querySelector(`[role=progressbar][aria-label="Upload of ${n}"]`)?.getAttribute("aria-valuenow")) >= 30,
    name,
    { polling: 100, timeout: 120_000 },
  );
  acceptLeaving(page);
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: "Your files" })).toBeVisible();
  reloading = false;
  const earlier = await announced[0].fileId;
  // The key ring is gone (cleared storage); the resume record is not.
  await page.evaluate(() => localStorage.removeItem("ferry.e2ee.keys.v1"));

  await pickFiles(page, [file]);
  const row = page.getByRole("region", { name: "Uploads", exact: true }).getByRole("listitem").filter({ hasText: name });
  await expect(row).toContainText("started with a key this browser no longer holds");
  await expect(row).toContainText("cannot be resumed without corrupting the file");
  await expect
    .poll(async () => (await page.request.get(`/api/files/${earlier}`, { headers: { authorization: bearer() } })).status(), { timeout: 30_000 })
    .toBe(404);

  await row.getByRole("button", { name: `Retry ${name}` }).click();
  await expect(row).toContainText(/Uploaded ·/, { timeout: 180_000 });
  expect(announced.length, "a fresh encrypted upload").toBe(2);
  const fresh = await announced[1].fileId;
  const link = await encryptedLink(page, bearer, [fresh]);
  expect(link).toContain("#k=");
  expect(original).toMatch(/^[0-9a-f]{64}$/);
});

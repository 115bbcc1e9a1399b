/**
 * A link of many files, as a recipient takes it: every file listed with its folder, "Download
 * all" as one ZIP written in the browser and streamed to disk through the download worker
 * (checked by Python's zipfile, path by path and SHA-256 by SHA-256 against the originals),
 * and one file alone, each counted as one download.
 *
 * The link is made through the API with a signed-in token (not the app's upload screens), so
 * this journey depends only on the recipients' side: nested folders, non-ASCII names, and one
 * file sent in multipart parts.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";

import type { APIRequestContext } from "@playwright/test";

import { MiB } from "../limits";
import { apiSignIn, capture, expect, readZip, sha256, test, tmpFile } from "./fixtures";

type Spec = { folder?: string; name: string; size: number; type: string; multipart?: boolean };

const FILES: Spec[] = [
  { name: "readme.txt", size: 1_234, type: "text/plain" },
  { folder: "photos/2026", name: "été à Zürich.jpg", size: 300_000, type: "image/jpeg" },
  { folder: "photos/2026", name: "日本語のメモ.txt", size: 4_321, type: "text/plain" },
  { folder: "docs/deep/er", name: "notes <b>&amp; \"q\".md", size: 999, type: "text/markdown" },
  { folder: "docs", name: "report.pdf", size: 150_000, type: "application/pdf" },
  { folder: "big", name: "parts.bin", size: 20 * MiB + 12_345, type: "application/octet-stream", multipart: true },
];

const path = (f: Spec) => (f.folder ? `${f.folder}/${f.name}` : f.name);
const b64 = (bytes: Buffer) => crypto.createHash("sha256").update(bytes).digest("base64");

/** Uploads `bytes` as `spec` through presigned PUTs (one, or parts) and returns the file id. */
async function upload(request: APIRequestContext, token: string, spec: Spec, bytes: Buffer): Promise<string> {
  const auth = { authorization: `Bearer ${token}` };
  const body = { name: spec.name, size: bytes.length, content_type: spec.type, folder: spec.folder };
  const put = async (url: string, headers: { name: string; value: string }[], data: Buffer) => {
    const sent: Record<string, string> = {};
    for (const h of headers) if (h.name.toLowerCase() !== "content-length") sent[h.name] = h.value;
    const answer = await request.put(url, { headers: sent, data });
    expect(answer.status(), `PUT ${spec.name}`).toBe(200);
    return answer.headers()["etag"];
  };
  if (!spec.multipart) {
    const ticket = await request.post("/api/uploads", { headers: auth, data: body });
    expect(ticket.status(), await ticket.text()).toBe(201);
    const { file, upload } = await ticket.json();
    await put(upload.url, upload.headers, bytes);
    return file.id;
  }
  const ticket = await request.post("/api/uploads/multipart", { headers: auth, data: body });
  expect(ticket.status(), await ticket.text()).toBe(201);
  const { file, part_size: partSize, part_count: count } = await ticket.json();
  expect(count).toBeGreaterThan(1);
  const parts = Array.from({ length: count }, (_, i) => {
    const data = bytes.subarray(i * partSize, Math.min(bytes.length, (i + 1) * partSize));
    return { number: i + 1, data, sha256: b64(data) };
  });
  const urls = await request.post(`/api/files/${file.id}/parts`, {
    headers: auth,
    data: { parts: parts.map((p) => ({ number: p.number, sha256: p.sha256 })) },
  });
  expect(urls.ok()).toBe(true);
  const completed = [];
  for (const [i, url] of (await urls.json()).parts.entries()) {
    completed.push({ number: parts[i].number, etag: await put(url.url, url.headers, parts[i].data), sha256: parts[i].sha256 });
  }
  expect((await request.post(`/api/files/${file.id}/complete`, { headers: auth, data: { parts: completed } })).ok()).toBe(true);
  return file.id;
}

test("a link of many files: every path listed, Download all is a ZIP that checks out, one file alone counts one", async ({ request, visitorContext }) => {
  test.setTimeout(180_000);
  const token = await apiSignIn(request, "transfer");
  const auth = { authorization: `Bearer ${token}` };
  const originals = new Map<string, string>();
  const ids: string[] = [];
  for (const spec of FILES) {
    const bytes = crypto.randomBytes(spec.size);
    originals.set(path(spec), crypto.createHash("sha256").update(bytes).digest("hex"));
    ids.push(await upload(request, token, spec, bytes));
  }
  for (const id of ids) {
    await expect.poll(async () => (await (await request.get(`/api/files/${id}`, { headers: auth })).json()).status, { timeout: 30_000 }).toBe("ready");
  }
  const created = await request.post("/api/shares", { headers: auth, data: { file_ids: ids, max_downloads: 5 } });
  expect(created.status()).toBe(201);
  const share = await created.json();
  const link: string = share.url;
  const linkToken = link.split("/s/")[1];

  const visitor = await (await visitorContext()).newPage();
  await visitor.goto(link);
  const total = FILES.reduce((sum, f) => sum + f.size, 0);
  await expect(visitor.getByRole("heading", { level: 1, name: /^6 files · 20\.\d MiB$/ })).toBeVisible();
  await expect(visitor.getByText("Download all counts as one download; each single file counts as one.")).toBeVisible();
  await expect(visitor.getByText("5 downloads left")).toBeVisible();
  for (const folder of ["photos/2026", "docs/deep/er", "docs", "big"]) {
    await expect(visitor.getByRole("heading", { level: 2, name: folder, exact: true })).toBeVisible();
  }
  for (const spec of FILES) {
    // The name as text (never as markup: one has tags in it) and its own button.
    await expect(visitor.getByText(spec.name, { exact: true })).toBeVisible();
    await expect(visitor.getByRole("button", { name: `Download ${spec.name}`, exact: true })).toBeVisible();
  }
  expect(await visitor.locator(".transfer-list b").count()).toBe(0);
  await capture(visitor, "public-transfer");

  // Download all: one ZIP, streamed through the download worker, counted once.
  const zipping = visitor.waitForEvent("download");
  await visitor.getByRole("button", { name: "Download all (ZIP)" }).click();
  const zipDownload = await zipping;
  expect(zipDownload.suggestedFilename()).toMatch(/\.zip$/);
  const zip = tmpFile("transfer-download-all.zip");
  await zipDownload.saveAs(zip);
  expect(await zipDownload.failure()).toBeNull();
  await expect(visitor.getByText("The ZIP is saved.")).toBeVisible();
  await expect(visitor.getByText("4 downloads left")).toBeVisible();
  const read = readZip(zip);
  expect(read.bad, "every CRC in the ZIP checks").toBeNull();
  expect(new Map(read.entries.map(([p, , sha]) => [p, sha]))).toEqual(originals);
  expect(read.entries.reduce((sum, [, size]) => sum + size, 0)).toBe(total);
  fs.rmSync(zip);

  // One file alone: its own bytes, one more download used.
  const single = visitor.waitForEvent("download");
  await visitor.getByRole("button", { name: "Download report.pdf", exact: true }).click();
  const one = await single;
  expect(one.suggestedFilename()).toBe("report.pdf");
  const saved = tmpFile("transfer-report.pdf");
  await one.saveAs(saved);
  expect(sha256(saved)).toBe(originals.get("docs/report.pdf"));
  await expect(visitor.getByText("3 downloads left")).toBeVisible();
  const left = await (await request.get(`/api/public/shares/${linkToken}`)).json();
  expect(left.downloads_left).toBe(3);
});

test("a protected link of many files: unlocked once, listed; a file that fails mid-ZIP stops the download and says which; Cancel stops it", async ({ request, visitorContext, guard }) => {
  guard.allow(/status of 500/);
  const token = await apiSignIn(request, "transfer");
  const auth = { authorization: `Bearer ${token}` };
  const specs: Spec[] = [
    { folder: "a", name: "one.txt", size: 2_000, type: "text/plain" },
    { folder: "a/b", name: "two.txt", size: 3_000, type: "text/plain" },
    { name: "three.bin", size: 4_000, type: "application/octet-stream" },
  ];
  const ids: string[] = [];
  for (const spec of specs) ids.push(await upload(request, token, spec, crypto.randomBytes(spec.size)));
  for (const id of ids) {
    await expect.poll(async () => (await (await request.get(`/api/files/${id}`, { headers: auth })).json()).status, { timeout: 30_000 }).toBe("ready");
  }
  const created = await request.post("/api/shares", { headers: auth, data: { file_ids: ids, max_downloads: 3, password: "open sesame 9" } });
  expect(created.status()).toBe(201);
  const link: string = (await created.json()).url;

  const visitor = await (await visitorContext()).newPage();
  await visitor.goto(link);
  await visitor.getByLabel("Password").fill("open sesame 9");
  await visitor.getByRole("button", { name: "Unlock" }).click();
  await expect(visitor.getByRole("heading", { level: 1, name: /^3 files · / })).toBeVisible();
  await expect(visitor.getByText("Password protected")).toBeVisible();
  for (const spec of specs) await expect(visitor.getByRole("button", { name: `Download ${spec.name}`, exact: true })).toBeVisible();
  // Keyboard only: the first file's button is reachable with Tab and starts its download.
  await visitor.getByRole("button", { name: "Download all (ZIP)" }).focus();
  await visitor.keyboard.press("Tab");
  await expect(visitor.getByRole("button", { name: "Download three.bin", exact: true })).toBeFocused();

  // Storage fails on the second file: the ZIP stops, the page says which file, the download fails.
  await visitor.route((url) => url.pathname.endsWith(`/${ids[1]}`), (route) => route.fulfill({ status: 500, body: "boom" }));
  const downloads: Promise<string | null>[] = [];
  visitor.on("download", (d) => downloads.push(d.failure()));
  await visitor.getByRole("button", { name: "Download all (ZIP)" }).click();
  await expect(visitor.getByRole("alert")).toContainText("“a/b/two.txt” could not be downloaded (the server answered 500).");
  await expect(visitor.getByText("The ZIP was not saved.")).toBeVisible();
  await expect(visitor.getByText("2 downloads left")).toBeVisible();
  for (const failure of await Promise.all(downloads)) expect(failure, "the browser does not keep the broken ZIP").not.toBeNull();
  await capture(visitor, "public-transfer-failed");

  // Cancel while a file hangs: its fetch stops at once, the download fails, counted all the same.
  await visitor.unrouteAll();
  guard.allow(new RegExp(ids[0]));
  await visitor.route((url) => url.pathname.endsWith(`/${ids[0]}`), () => {});
  const before = downloads.length;
  await visitor.getByRole("button", { name: "Download all (ZIP)" }).click();
  await visitor.getByRole("button", { name: "Cancel" }).click();
  await expect(visitor.getByRole("alert")).toContainText("You cancelled the download.");
  await expect(visitor.getByText("The ZIP was not saved.")).toBeVisible();
  await expect(visitor.getByText("1 download left")).toBeVisible();
  expect(downloads.length).toBeGreaterThan(before);
  for (const failure of await Promise.all(downloads)) expect(failure, "a cancelled ZIP is not kept").not.toBeNull();

  // The access key from unlock (not the password) opens one file, counted once. Focus is back
  // on "Download all"; the next Tab is the first file's button.
  await expect(visitor.getByRole("button", { name: "Download all (ZIP)" })).toBeFocused();
  await visitor.keyboard.press("Tab");
  await expect(visitor.getByRole("button", { name: "Download three.bin", exact: true })).toBeFocused();
  const single = visitor.waitForEvent("download");
  await visitor.keyboard.press("Enter");
  expect((await single).suggestedFilename()).toBe("three.bin");
  await expect(visitor.getByText("No downloads left")).toBeVisible();
});

test("a link of 1,000 files lists every one, by folder, and the last is reachable", async ({ request, visitorContext }) => {
  test.setTimeout(240_000);
  const token = await apiSignIn(request, "transfer");
  const auth = { authorization: `Bearer ${token}` };
  const ids: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const spec: Spec = { folder: `batch ${String(i % 10).padStart(2, "0")}`, name: `file ${String(i).padStart(4, "0")}.txt`, size: 16, type: "text/plain" };
    ids.push(await upload(request, token, spec, Buffer.from(`file number ${String(i).padStart(4, "0")}`)));
  }
  const created = await request.post("/api/shares", { headers: auth, data: { file_ids: ids } });
  expect(created.status(), await created.text()).toBe(201);

  const visitor = await (await visitorContext()).newPage();
  await visitor.goto((await created.json()).url);
  await expect(visitor.getByRole("heading", { level: 1, name: /^1000 files · / })).toBeVisible();
  await expect(visitor.locator(".transfer-file")).toHaveCount(1000);
  await expect(visitor.getByRole("heading", { level: 2 })).toHaveCount(10);
  const last = visitor.getByText("file 0999.txt", { exact: true });
  await last.scrollIntoViewIfNeeded();
  await expect(last).toBeInViewport();
});

/**
 * End-to-end encrypted links, as a recipient takes them (#15). The files are encrypted here in
 * Node with the format of docs/ENCRYPTION.md (RFC 8188 records with AES-256-GCM, 64 KiB
 * records, the salt in the sealed metadata, the key only in the link's fragment) and uploaded
 * through the API, not the app's upload screens, so this journey depends only on the download
 * side: names decrypted in the browser, one file and Download all decrypted as they stream,
 * a flipped stored byte or a missing key refused in plain words.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";

import type { APIRequestContext } from "@playwright/test";

import { apiSignIn, capture, expect, objectsWithHash, readZip, sha256, stackEnv, test, tmpFile } from "./fixtures";

const RS = 64 * 1024;
const MARKER = "FERRY-PLAINTEXT-MARKER-7f3a";

type Spec = { folder?: string; name: string; type: string; bytes: Buffer };

function keys(ikm: Buffer, salt: Buffer): { key: Buffer; nonce: Buffer } {
  const derive = (info: string, len: number) => Buffer.from(crypto.hkdfSync("sha256", ikm, salt, Buffer.from(info, "latin1"), len));
  return { key: derive("Content-Encoding: aes256gcm\0", 32), nonce: derive("Content-Encoding: nonce\0", 12) };
}

/** RFC 8188's records of `data` (records of `rs` bytes, delimiter 1 or 2 for the last, no header). */
function records(ikm: Buffer, salt: Buffer, data: Buffer, rs: number): Buffer {
  const { key, nonce } = keys(ikm, salt);
  const size = rs - 17;
  const count = Math.max(1, Math.ceil(data.length / size));
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const iv = Buffer.from(nonce);
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ i) >>> 0, 8);
    const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
    const plain = Buffer.concat([data.subarray(i * size, (i + 1) * size), Buffer.from([i + 1 === count ? 2 : 1])]);
    out.push(cipher.update(plain), cipher.final(), cipher.getAuthTag());
  }
  return Buffer.concat(out);
}

/** The file's sealed metadata: one RFC 8188 message (header with its own salt, rs 4096). */
function sealMeta(ikm: Buffer, spec: Spec, salt: Buffer): string {
  const json = JSON.stringify({ name: spec.name, folder: spec.folder, content_type: spec.type, size: spec.bytes.length, salt: salt.toString("base64url") });
  const headerSalt = crypto.randomBytes(16);
  const header = Buffer.alloc(21);
  headerSalt.copy(header);
  header.writeUInt32BE(4096, 16);
  return Buffer.concat([header, records(ikm, headerSalt, Buffer.from(json), 4096)]).toString("base64url");
}

/** Encrypts and uploads `specs` with a fresh transfer key; a link of them; the stored bytes' hashes. */
async function encryptedLink(request: APIRequestContext, specs: Spec[]) {
  const token = await apiSignIn(request, "e2ee");
  const auth = { authorization: `Bearer ${token}` };
  const ikm = crypto.randomBytes(32);
  const ids: string[] = [];
  const stored: string[] = [];
  for (const spec of specs) {
    const salt = crypto.randomBytes(16);
    const cipher = records(ikm, salt, spec.bytes, RS);
    stored.push(crypto.createHash("sha256").update(cipher).digest("hex"));
    const body = { name: "encrypted", size: cipher.length, content_type: "application/octet-stream", encrypted: { meta: sealMeta(ikm, spec, salt), version: 1 } };
    const ticket = await request.post("/api/uploads", { headers: auth, data: body });
    expect(ticket.status(), await ticket.text()).toBe(201);
    const { file, upload } = await ticket.json();
    const headers: Record<string, string> = {};
    for (const h of upload.headers) if (h.name.toLowerCase() !== "content-length") headers[h.name] = h.value;
    expect((await request.put(upload.url, { headers, data: cipher })).status()).toBe(200);
    ids.push(file.id);
  }
  for (const id of ids) {
    await expect.poll(async () => (await (await request.get(`/api/files/${id}`, { headers: auth })).json()).status, { timeout: 30_000 }).toBe("ready");
  }
  const created = await request.post("/api/shares", { headers: auth, data: { file_ids: ids, max_downloads: 20 } });
  expect(created.status(), await created.text()).toBe(201);
  const share = await created.json();
  expect(share.encrypted).toBe(true);
  return { link: `${share.url}#k=${ikm.toString("base64url")}`, bare: share.url as string, stored };
}

const hex = (bytes: Buffer) => crypto.createHash("sha256").update(bytes).digest("hex");
const withMarker = (size: number) => Buffer.concat([Buffer.from(MARKER), crypto.randomBytes(size), Buffer.from(MARKER)]);

test("an encrypted folder of 20 files: names decrypted, one file and Download all decrypt as they stream, nothing stored in the clear", async ({ request, visitorContext }) => {
  test.setTimeout(240_000);
  const specs: Spec[] = Array.from({ length: 20 }, (_, i) => ({
    folder: i < 10 ? "secret/plans" : i < 15 ? "secret/été" : undefined,
    name: `file-${String(i).padStart(2, "0")}-${i % 3 === 0 ? "Zürich" : "note"}.bin`,
    type: "application/octet-stream",
    // Around record boundaries (65 519 bytes of data each) and one of many records.
    bytes: withMarker(i === 0 ? 3 * 65_519 + 100 : i === 1 ? 65_519 - 2 * MARKER.length : i === 2 ? 0 : 1_000 * i),
  }));
  specs[19].bytes = withMarker(2 * 1024 * 1024 + 7);
  const { link, stored } = await encryptedLink(request, specs);

  // The stored objects hold no plaintext marker.
  const bucket = `${stackEnv("FERRY_E2E_DATA_DIR")}/s3/ferry-files`;
  for (const sha of stored) {
    const [object] = objectsWithHash(sha);
    expect(object, "the ciphertext is stored as sent").toBeTruthy();
    expect(fs.readFileSync(object).includes(MARKER)).toBe(false);
  }
  expect(fs.existsSync(bucket)).toBe(true);

  const visitor = await (await visitorContext()).newPage();
  await visitor.goto(link);
  await expect(visitor.getByText("End-to-end encrypted", { exact: true })).toBeVisible();
  await expect(visitor.getByText(/Ferry and AWS store only scrambled data and cannot read them/)).toBeVisible();
  for (const folder of ["secret/plans", "secret/été"]) {
    await expect(visitor.getByRole("heading", { level: 2, name: folder, exact: true })).toBeVisible();
  }
  for (const spec of specs) await expect(visitor.getByText(spec.name, { exact: true })).toBeVisible();
  await expect(visitor.getByText("encrypted", { exact: true })).toHaveCount(0);
  await capture(visitor, "public-transfer-encrypted");

  // One file alone, decrypted under its name.
  const single = visitor.waitForEvent("download");
  await visitor.getByRole("button", { name: `Download ${specs[0].name}`, exact: true }).click();
  const one = await single;
  expect(one.suggestedFilename()).toBe(specs[0].name);
  const saved = tmpFile("e2ee-one.bin");
  await one.saveAs(saved);
  expect(await one.failure()).toBeNull();
  expect(sha256(saved)).toBe(hex(specs[0].bytes));
  await expect(visitor.getByText("The file is saved.")).toBeVisible();

  // Download all: the decrypted files under their decrypted paths.
  const zipping = visitor.waitForEvent("download");
  await visitor.getByRole("button", { name: "Download all (ZIP)" }).click();
  const zipDownload = await zipping;
  const zip = tmpFile("e2ee-all.zip");
  await zipDownload.saveAs(zip);
  expect(await zipDownload.failure()).toBeNull();
  await expect(visitor.getByText("The ZIP is saved.")).toBeVisible();
  const read = readZip(zip);
  expect(read.bad).toBeNull();
  const expected = new Map(specs.map((s) => [s.folder ? `${s.folder}/${s.name}` : s.name, hex(s.bytes)]));
  expect(new Map(read.entries.map(([p, , sha]) => [p, sha]))).toEqual(expected);
  fs.rmSync(zip);
});

test("an encrypted file with a flipped stored byte fails to download with the reason; a link without its key says so", async ({ request, visitorContext, guard }) => {
  guard.allow(/__ferry\/zip|ferry-files/);
  const specs: Spec[] = [
    { name: "ledger.csv", type: "text/csv", bytes: withMarker(200_000) },
    { name: "other.txt", type: "text/plain", bytes: withMarker(10) },
  ];
  const { link, bare, stored } = await encryptedLink(request, specs);
  const [object] = objectsWithHash(stored[0]);
  const bytes = fs.readFileSync(object);
  bytes[70_000] ^= 0x01;
  fs.writeFileSync(object, bytes);

  const visitor = await (await visitorContext()).newPage();
  const downloads: Promise<string | null>[] = [];
  visitor.on("download", (d) => downloads.push(d.failure()));
  await visitor.goto(link);
  await visitor.getByRole("button", { name: "Download ledger.csv", exact: true }).click();
  await expect(visitor.getByRole("alert")).toContainText("“ledger.csv” failed its integrity check");
  await expect(visitor.getByText("The file was not saved.")).toBeVisible();
  for (const failure of downloads) expect(await failure, "the download is not complete").not.toBeNull();

  await visitor.getByRole("button", { name: "Download all (ZIP)" }).click();
  await expect(visitor.getByRole("alert")).toContainText("failed its integrity check");
  await expect(visitor.getByText("The ZIP was not saved.")).toBeVisible();
  for (const failure of downloads) expect(await failure, "the download is not complete").not.toBeNull();

  const keyless = await (await visitorContext()).newPage();
  await keyless.goto(bare);
  await expect(keyless.getByRole("heading", { level: 1, name: "The key to these files is not in the link" })).toBeVisible();
  await expect(keyless.getByText(/This link is missing its key: the part after # was lost/)).toBeVisible();
  await capture(keyless, "public-transfer-missing-key");
});

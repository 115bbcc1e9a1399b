// Encrypts one file for an end-to-end encrypted link of bench/zip-download, in the format of
// docs/ENCRYPTION.md as e2e/tests/14-e2ee-download.spec.ts seeds it (RFC 8188 records of 64 KiB
// with AES-256-GCM, no header, the content salt in the sealed metadata), streaming: a file of
// gigabytes is never held whole.
//
//   node encrypt.cjs KEY IN OUT NAME FOLDER   KEY: the link's key (32 bytes, base64url);
//                                             FOLDER may be ""; prints the sealed metadata
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");

const RS = 64 * 1024;
const [key, input, output, name, folder] = process.argv.slice(2);
if (!output || name === undefined) throw new Error("usage: encrypt.cjs KEY IN OUT NAME FOLDER");
const ikm = Buffer.from(key, "base64url");
if (ikm.length !== 32) throw new Error("the key is not 32 bytes");

function keys(salt) {
  const derive = (info, len) => Buffer.from(crypto.hkdfSync("sha256", ikm, salt, Buffer.from(info, "latin1"), len));
  return { key: derive("Content-Encoding: aes256gcm\0", 32), nonce: derive("Content-Encoding: nonce\0", 12) };
}

/** Record `i` of `count` holding `data`. */
function record({ key, nonce }, i, count, data) {
  const iv = Buffer.from(nonce);
  iv.writeUInt32BE((iv.readUInt32BE(8) ^ i) >>> 0, 8);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  const parts = [cipher.update(data), cipher.update(Buffer.from([i + 1 === count ? 2 : 1])), cipher.final(), cipher.getAuthTag()];
  return Buffer.concat(parts);
}

/** Every record of `data` (small: the metadata). */
function records(salt, data, rs) {
  const k = keys(salt);
  const size = rs - 17;
  const count = Math.max(1, Math.ceil(data.length / size));
  const out = [];
  for (let i = 0; i < count; i++) out.push(record(k, i, count, data.subarray(i * size, (i + 1) * size)));
  return Buffer.concat(out);
}

const size = fs.statSync(input).size;
const salt = crypto.randomBytes(16);
const k = keys(salt);
const data = RS - 17;
const count = Math.max(1, Math.ceil(size / data));
const inFd = fs.openSync(input, "r");
const outFd = fs.openSync(output, "w");
const batch = 256;
const buffer = Buffer.alloc(data * batch);
for (let first = 0; first < count; first += batch) {
  const read = fs.readSync(inFd, buffer, 0, buffer.length, first * data);
  const out = [];
  for (let i = first; i < Math.min(count, first + batch); i++) {
    const at = (i - first) * data;
    out.push(record(k, i, count, buffer.subarray(at, Math.min(at + data, read))));
  }
  fs.writeSync(outFd, Buffer.concat(out));
}
fs.closeSync(inFd);
fs.closeSync(outFd);

const json = JSON.stringify({ name, folder: folder || undefined, content_type: "application/octet-stream", size, salt: salt.toString("base64url") });
const headerSalt = crypto.randomBytes(16);
const header = Buffer.alloc(21);
headerSalt.copy(header);
header.writeUInt32BE(4096, 16);
process.stdout.write(Buffer.concat([header, records(headerSalt, Buffer.from(json), 4096)]).toString("base64url") + "\n");

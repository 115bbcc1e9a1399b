// Ferry's sealing worker (/ferry-seal.js): encrypts one part of an end-to-end encrypted upload,
// hashes its ciphertext, keeps the sealed part and sends it to its presigned URL, all off the
// page; it also hashes the parts of plain uploads. The app (app/src/crypto/seal_worker.rs)
// starts it when an upload begins, so the files page's first load carries none of it, and
// decides everything about the format: which plaintext bytes the part covers, each record's
// nonce, which record is the file's last (docs/ENCRYPTION.md). This file only moves bytes,
// with as few copies as it can:
// - each record is encrypted straight from the part's plaintext buffer: WebCrypto copies its
//   input when called, so the byte after a record's data is set to the delimiter for the call
//   and put back at once (the part's last record, with nothing after it, gets its own buffer);
// - the records are assembled into this worker's one assembly buffer, which WebCrypto hashes and
//   a Blob copies, both as they are called, so the buffer is free again at once;
// - the part's Blob never leaves this worker: the page holds only its number. A Blob's bytes
//   stay in the browser until its object is garbage-collected, so it matters which heap holds
//   the object. This worker reads every part's plaintext anew and WebCrypto answers every record
//   in a new buffer, so its heap churns two parts' worth per part and collects often (released
//   parts also pace it, below); the page allocates next to nothing and would keep the Blobs of
//   sent parts, hundreds of MiB, until its collector happened to run (with the buffers recycled
//   and the Blob on the page, a 1 GiB upload once ran the browser out of Blob memory).
//
// Requests (each with a fresh `id`; `part` names a sealed part, the id of the "seal" that made it):
//   { op: "seal", id, key: CryptoKey, file: Blob, start, end (plaintext bytes of `file`),
//     nonces: Uint8Array (12 bytes per record), dataLen (data bytes of a full record),
//     partLen (ciphertext bytes), endsFile (the part's last record is the file's) }
//       -> { id, sha256: ArrayBuffer } or { id, error: string }; the part is kept
//   { op: "hash", id, file: Blob, start, end } -> { id, sha256: ArrayBuffer } or { id, error }
//       (a plain part's checksum, read the same way)
//   { op: "send", id, part, method, url, headers: [[name, value], ...] }   sends the part
//       -> { id, sent } as bytes go, then { id, status, etag } (status 0: no answer)
//   { op: "abort", id }      stops send `id`; nothing more is said of it
//   { op: "release", part }  forgets the part (a send of it already started goes on)
//   { op: "peek", id, part } -> { id, blob } (the sealed bytes, for tests)
"use strict";

const NONCE_LEN = 12;
const MORE = 1;
const LAST = 2;

/** Sealed parts by number, kept until released. */
const held = new Map();
/** Parts being sealed; one released meanwhile is dropped when its sealing ends. */
const wanted = new Set();
/** Sends on their way, by request id. */
const sending = new Map();
/** The assembly buffer, grown to the largest part. */
let assembly = new Uint8Array(0);

self.onmessage = ({ data }) => {
  switch (data.op) {
    case "seal":
      wanted.add(data.id);
      seal(data).then(
        ({ blob, sha256 }) => {
          if (wanted.delete(data.id)) held.set(data.id, blob);
          self.postMessage({ id: data.id, sha256 });
        },
        (err) => {
          wanted.delete(data.id);
          self.postMessage({ id: data.id, error: String((err && err.message) || err) });
        },
      );
      break;
    case "hash":
      hash(data).then(
        (sha256) => self.postMessage({ id: data.id, sha256 }),
        (err) => self.postMessage({ id: data.id, error: String((err && err.message) || err) }),
      );
      break;
    case "send":
      send(data);
      break;
    case "abort": {
      const xhr = sending.get(data.id);
      sending.delete(data.id);
      if (xhr) {
        xhr.onload = xhr.onerror = xhr.ontimeout = xhr.upload.onprogress = null;
        xhr.abort();
      }
      break;
    }
    case "release": {
      wanted.delete(data.part);
      const blob = held.get(data.part);
      held.delete(data.part);
      if (blob) pace(blob.size);
      break;
    }
    case "peek":
      self.postMessage({ id: data.id, blob: held.get(data.part) });
      break;
  }
};

// Paces this worker's garbage collector to the parts it lets go of. A Blob's bytes live outside
// the JavaScript heap, which knows nothing of their size, so a released part is freed only by a
// full collection, which the heap's own allocations bring about at their pace, not the Blobs'.
// An ArrayBuffer of the part's size, dropped at once, counts as that much memory to the
// collector but is never written, so the pages behind it are never touched (0.4 ms for 32 MiB
// in Chromium 156): each released part then brings the next collection nearer by its size.
let pacer = null;
function pace(bytes) {
  pacer = new ArrayBuffer(bytes);
  pacer = null;
}

function send({ id, part, method, url, headers }) {
  const blob = held.get(part);
  if (!blob) {
    self.postMessage({ id, status: 0 });
    return;
  }
  const xhr = new XMLHttpRequest();
  const finish = (status, etag) => {
    if (sending.delete(id)) self.postMessage({ id, status, etag });
  };
  try {
    xhr.open(method, url);
    for (const [name, value] of headers) xhr.setRequestHeader(name, value);
  } catch {
    self.postMessage({ id, status: 0 });
    return;
  }
  xhr.upload.onprogress = (event) => self.postMessage({ id, sent: event.loaded });
  xhr.onload = () => finish(xhr.status, xhr.getResponseHeader("ETag"));
  xhr.onerror = xhr.ontimeout = () => finish(0, null);
  sending.set(id, xhr);
  xhr.send(blob);
}

/** The bytes `start..end` of `file`, or an error when there are fewer (the file changed since it
 * was picked). Read whole with `arrayBuffer()`: a BYOB reader filling a kept buffer allocated
 * less, but one of its reads in a 3 GiB upload never settled, and the upload hung at 98 %. */
async function read(file, start, end) {
  const buffer = await file.slice(start, end).arrayBuffer();
  if (buffer.byteLength !== end - start) throw new Error("the file changed while it was read");
  return buffer;
}

/** SHA-256 of a plain part, read and hashed here, so its bytes never enter the page (whose
 * collector, seldom run, would keep every part's bytes long after). */
async function hash({ file, start, end }) {
  return crypto.subtle.digest("SHA-256", await read(file, start, end));
}

async function seal({ key, file, start, end, nonces, dataLen, partLen, endsFile }) {
  const plain = new Uint8Array(await read(file, start, end));
  const records = nonces.length / NONCE_LEN;
  const sealing = [];
  for (let i = 0; i < records; i++) {
    const from = Math.min(i * dataLen, plain.length);
    const to = Math.min(from + dataLen, plain.length);
    const delimiter = endsFile && i === records - 1 ? LAST : MORE;
    const params = { name: "AES-GCM", iv: nonces.subarray(i * NONCE_LEN, (i + 1) * NONCE_LEN) };
    if (to < plain.length) {
      const next = plain[to];
      plain[to] = delimiter;
      sealing.push(crypto.subtle.encrypt(params, key, plain.subarray(from, to + 1)));
      plain[to] = next;
    } else {
      const record = new Uint8Array(to - from + 1);
      record.set(plain.subarray(from, to));
      record[to - from] = delimiter;
      sealing.push(crypto.subtle.encrypt(params, key, record));
    }
  }
  const sealed = await Promise.all(sealing);
  // From here to the Blob nothing awaits: another part sealed in this worker at the same time
  // uses the same assembly buffer once this one has let go of it.
  if (assembly.length < partLen) assembly = new Uint8Array(partLen);
  const out = assembly.subarray(0, partLen);
  let at = 0;
  for (const record of sealed) {
    if (at + record.byteLength > partLen) throw new Error("sealed records longer than the part");
    out.set(new Uint8Array(record), at);
    at += record.byteLength;
  }
  if (at !== partLen) throw new Error("sealed records shorter than the part");
  const sha256 = crypto.subtle.digest("SHA-256", out);
  const blob = new Blob([out]);
  return { blob, sha256: await sha256 };
}

// Ferry's sealing worker (/ferry-seal.js): encrypts one part of an end-to-end encrypted upload
// and hashes its ciphertext, off the page's main thread. The app (app/src/crypto/seal_worker.rs)
// starts it when an encrypted upload begins, so the files page's first load carries none
// of it, and decides everything about the format: which plaintext bytes the part covers, each
// record's nonce, which record is the file's last (docs/ENCRYPTION.md). This file only moves
// bytes, with as few copies as it can:
// - each record is encrypted straight from the part's plaintext buffer: WebCrypto copies its
//   input when called, so the byte after a record's data is set to the delimiter for the call
//   and put back at once (the part's last record, with nothing after it, gets its own buffer);
// - the records are assembled into one buffer that WebCrypto hashes (copying it as it is
//   called) and that is then moved, not copied, to the page, which makes the part's Blob of it.
//   The buffer is not handed back for a later part on purpose: it dies on the page's heap,
//   which makes the page's garbage collector run often enough to let go of the Blobs of parts
//   already sent (a Blob's bytes stay in the browser until its object is collected; with the
//   buffers recycled the page allocated so little that a 1 GiB upload ran the browser out of
//   Blob memory, ERR_BLOB_OUT_OF_MEMORY).
//
// Request:  { id, key: CryptoKey, file: Blob, start, end (plaintext bytes of `file`),
//             nonces: Uint8Array (12 bytes per record), dataLen (data bytes of a full record),
//             partLen (ciphertext bytes), endsFile (the part's last record is the file's) }
// Answer:   { id, part: ArrayBuffer (transferred), sha256: ArrayBuffer } or { id, error: string }
"use strict";

const NONCE_LEN = 12;
const MORE = 1;
const LAST = 2;

self.onmessage = async ({ data }) => {
  const { id } = data;
  try {
    const { part, sha256 } = await seal(data);
    self.postMessage({ id, part, sha256 }, [part]);
  } catch (err) {
    self.postMessage({ id, error: String((err && err.message) || err) });
  }
};

async function seal({ key, file, start, end, nonces, dataLen, partLen, endsFile }) {
  const plain = new Uint8Array(await file.slice(start, end).arrayBuffer());
  if (plain.length !== end - start) throw new Error("the file changed while it was read");
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
  const out = new Uint8Array(partLen);
  let at = 0;
  for (const record of sealed) {
    if (at + record.byteLength > partLen) throw new Error("sealed records longer than the part");
    out.set(new Uint8Array(record), at);
    at += record.byteLength;
  }
  if (at !== partLen) throw new Error("sealed records shorter than the part");
  return { part: out.buffer, sha256: await crypto.subtle.digest("SHA-256", out) };
}

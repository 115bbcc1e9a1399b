// Ferry's download worker, served as /sw.js and registered by "Download all" with the scope
// /__ferry/ only, so it never sees the site's own requests. The page writes a ZIP while it
// fetches the files and sends it here chunk by chunk over a MessageChannel; the page's hidden
// frame then asks for /__ferry/zip/{id}, and this answers with a stream of those chunks as an
// attachment, so the browser saves the ZIP while it is written and nothing holds it whole.
// The stream asks the page for each chunk ('pull') as the browser takes them, and the page
// transfers each chunk's buffer rather than copying it. A single decrypted file of an
// end-to-end encrypted link comes the same way (kind 'file'), under its decrypted name.
'use strict';

const PREFIX = '/__ferry/zip/';
const waiting = new Map();

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  const m = event.data;
  const port = event.ports[0];
  // Anything else (the page's pings) only keeps this worker awake during a download.
  if (!m || m.type !== 'ferry-zip' || typeof m.id !== 'string' || !port) return;
  const type = m.kind === 'file' ? 'application/octet-stream' : 'application/zip';
  waiting.set(m.id, { name: String(m.name || 'files.zip'), size: m.size, type, stream: fromPage(port) });
  // A download nobody asked for within a minute is dropped.
  setTimeout(() => {
    const left = waiting.get(m.id);
    if (left && waiting.delete(m.id)) left.stream.cancel('not requested').catch(() => {});
  }, 60000);
  port.postMessage('ready');
});

// The page's chunks as a stream: a few asked for ahead, one more each time the browser takes one.
function fromPage(port) {
  let wake = null;
  return new ReadableStream({
    start(controller) {
      port.onmessage = (event) => {
        const d = event.data || {};
        if (d.chunk instanceof Uint8Array) {
          pace(d.chunk.byteLength);
          controller.enqueue(d.chunk);
        }
        else if (d.done) controller.close();
        else if (typeof d.error === 'string') controller.error(new Error(d.error));
        if (wake) { wake(); wake = null; }
      };
      // A few chunks ahead, so the page never waits on a round trip.
      for (let i = 0; i < 3; i++) port.postMessage('pull');
    },
    pull() {
      port.postMessage('pull');
      return new Promise((resolve) => { wake = resolve; });
    },
    cancel(reason) {
      port.postMessage({ cancel: String(reason || 'cancelled') });
      port.close();
    },
  }, { highWaterMark: 4 });
}

// Paces this worker's garbage collector to the bytes streaming through. The chunks arrive by
// transfer, so they are not allocations of this worker, and it does next to no JavaScript of its
// own: its young generation filled so slowly that chunks the browser had long saved stayed in
// memory between collections, up to 236 MiB at full speed (bench/zip-download, the worker's
// array buffers). Throwaway arrays worth a quarter of each chunk's bytes (in pieces of 32 KiB,
// so they stay in the young generation) make young collections come often enough that each
// frees the chunks already taken. Measured over 1.2 GiB (worker's buffers, the renderer's
// footprint, browser CPU): 1/32 of the bytes 67 MiB, 225 MiB, 18 s; a quarter 45 MiB, 172 MiB,
// 15 s; all of them 53–62 MiB, 135–173 MiB, 24 s (collections that often cost more than they
// free). Nothing depends on it for correctness.
let pacer = null;
function pace(bytes) {
  for (let n = bytes >>> 4; n > 0; n -= 8192) pacer = new Array(Math.min(n, 8192));
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(PREFIX)) return;
  const id = url.pathname.slice(PREFIX.length);
  const m = waiting.get(id);
  waiting.delete(id);
  if (!m) {
    event.respondWith(new Response('This download has already started or has expired. Start it again from the link.', {
      status: 404,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    }));
    return;
  }
  const headers = {
    'content-type': m.type,
    'content-disposition': attachment(m.name),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
  if (Number.isSafeInteger(m.size) && m.size > 0) headers['content-length'] = String(m.size);
  event.respondWith(new Response(m.stream, { headers }));
});

// RFC 6266: a plain ASCII fallback and the exact UTF-8 name.
function attachment(name) {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

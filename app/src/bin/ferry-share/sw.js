// Ferry's download worker, served as /sw.js and registered by the recipients' page with the
// scope /__ferry/ only, so it never sees the site's own requests. For "Download all" the page
// writes a ZIP into a stream and hands it over here; the page's hidden frame then asks for
// /__ferry/zip/{id}, and this answers with that stream as an attachment, so the browser saves
// the ZIP while it is written and nothing holds it whole.
'use strict';

const PREFIX = '/__ferry/zip/';
const waiting = new Map();

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  const m = event.data;
  // Anything else (the page's pings) only keeps this worker awake during a download.
  if (!m || m.type !== 'ferry-zip' || typeof m.id !== 'string' || !(m.stream instanceof ReadableStream)) return;
  waiting.set(m.id, m);
  // A stream nobody asked for within a minute is dropped.
  setTimeout(() => {
    if (waiting.delete(m.id)) m.stream.cancel('not requested').catch(() => {});
  }, 60000);
  if (event.ports[0]) event.ports[0].postMessage('ready');
});

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
    'content-type': 'application/zip',
    'content-disposition': attachment(String(m.name || 'files.zip')),
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

// DevTools helpers shared by the browser benches (bench/zip-download, bench/upload-throughput):
// a free port for Chromium's DevTools endpoint, a bare client on that endpoint that attaches
// to the browser's workers to read their heaps, and the peaks of the page's and workers' heaps. Needs Node's WebSocket (node
// --experimental-websocket on Node 20).
"use strict";

const net = require("node:net");

/** A free TCP port on 127.0.0.1, for Chromium's DevTools endpoint. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A bare DevTools client on the browser's endpoint, attached to every worker of `type` (a
 * DevTools target type: "worker" for dedicated workers, "service_worker"). Playwright opens no
 * DevTools session on a worker, so their heaps are asked here. */
async function workerWatch(port, type) {
  const { webSocketDebuggerUrl } = await (await fetch(`http://127.0.0.1:${port}/json/version`)).json();
  const ws = new WebSocket(webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let next = 1;
  const calls = new Map();
  const workers = new Map(); // targetId → sessionId
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const id = next++;
      calls.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  const attach = (info) => {
    if (info.type !== type || workers.has(info.targetId)) return;
    workers.set(info.targetId, null);
    send("Target.attachToTarget", { targetId: info.targetId, flatten: true })
      .then(({ sessionId }) => workers.set(info.targetId, sessionId))
      .catch(() => workers.delete(info.targetId));
  };
  ws.onmessage = (event) => {
    const m = JSON.parse(event.data);
    if (m.id && calls.has(m.id)) {
      const call = calls.get(m.id);
      calls.delete(m.id);
      if (m.error) call.reject(new Error(m.error.message));
      else call.resolve(m.result);
    } else if (m.method === "Target.targetCreated" || m.method === "Target.targetInfoChanged") {
      attach(m.params.targetInfo);
    } else if (m.method === "Target.targetDestroyed") {
      workers.delete(m.params.targetId);
    }
  };
  await send("Target.setDiscoverTargets", { discover: true });
  return {
    /** The workers' JS heap in use and array buffers, summed. */
    async heap() {
      let used = 0;
      let buffers = 0;
      for (const sessionId of workers.values()) {
        if (!sessionId) continue;
        try {
          const usage = await send("Runtime.getHeapUsage", {}, sessionId);
          used += usage.usedSize;
          buffers += usage.backingStorageSize ?? 0;
        } catch {
          // The worker stopped between listing and asking.
        }
      }
      return { used, buffers, count: [...workers.values()].filter(Boolean).length };
    },
    close: () => ws.close(),
  };
}

/** Raises `peaks`' page_heap and page_buffers (the page's JS heap in use and array buffers, from
 * its DevTools session `cdp`) and worker_heap and worker_buffers (from `workers`, a
 * [workerWatch]) to what they are now; returns the page's and the workers' figures. Array
 * buffers live outside the JS heap (a file's bytes being read or hashed are ones). */
async function heapPeaks(cdp, workers, peaks) {
  const page = await cdp.send("Runtime.getHeapUsage");
  peaks.page_heap = Math.max(peaks.page_heap, page.usedSize);
  peaks.page_buffers = Math.max(peaks.page_buffers, page.backingStorageSize ?? 0);
  const worker = await workers.heap();
  peaks.worker_heap = Math.max(peaks.worker_heap, worker.used);
  peaks.worker_buffers = Math.max(peaks.worker_buffers, worker.buffers);
  return { page, worker };
}

module.exports = { freePort, heapPeaks, workerWatch };

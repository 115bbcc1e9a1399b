#!/usr/bin/env bash
# Upload throughput on the local stack, side by side in one run:
#   1. curl PUTs a 1 GiB file to the embedded S3 endpoint through a presigned URL (the machine's
#      limit: no browser, no checksum, one stream);
#   2. headless Chromium uploads the same file through Ferry's UI (parallel parts, a SHA-256 per
#      part computed with WebCrypto) until the file is `ready`;
#   2b. the same through Ferry's UI with "Encrypt end to end" on (each part sealed in the page,
#      AES-256-GCM records, then hashed and sent; goal: >= 80 % of the plain upload's throughput,
#      browser memory flat);
#   3. the browser's own ceiling for that protocol: a bare page in the same Chromium reads,
#      hashes (WebCrypto) and PUTs the same parts, 4 at once, to presigned part URLs — no app.
# Prints the times and throughputs, the ratios (goal: Ferry >= 70 % of curl), the CPU time the
# browser and the server spent, and the browser's peak memory (renderer RSS, all Chromium
# processes' PSS, JS heap; for the encrypted upload also the page's and the sealing workers' JS
# heap and array buffers, from DevTools `Runtime.getHeapUsage`, and the browser process's PSS,
# where Blob storage lives), and, sampled every 100 ms, the renderer's and the browser process's
# memory footprint by quarter of each upload: flat when the second half's peak is at most two
# parts above the first half's.
#
#   bench/upload-throughput/run.sh
#   BENCH_MIB=256 bench/upload-throughput/run.sh        a smaller file
#   FERRY_BIN=target/debug/ferry ...                    another server build (default: release,
#                                                       built if missing; debug hashes slowly)
#   SITE_DIR=/tmp/site ...                              an already built site (default: builds
#                                                       one with trunk into a temporary dir)
#   BENCH_KEEP=1 ...                                    keep the data dir and the log
#   BENCH_BARE_PARALLEL=6 ...                           parts the bare page sends at once (4)
#   BENCH_THREADS=1 ...                                 also print Chromium's CPU time by process
#                                                       type and thread (main thread, workers, I/O)
#   BENCH_TIMELINE=1 ...                                also print every memory sample of both
#                                                       uploads (renderer and browser process)
#
# Link mode (BENCH_LINK=1, or BENCH_LINKS="Mbit/s:latency ms:MiB,…") replaces 1–3 with uploads
# over emulated links: Chromium's network emulation (DevTools `Network.emulateNetworkConditions`:
# latency added to every request, both directions capped at the rate) throttles Ferry's UI and
# then the bare page, and each is printed as a share of the link rate (goals: >= 90 % at
# 100 Mbit/s with 20 ms, >= 70 % at 1 Gbit/s with 50 ms). Default links:
# 100:20:96,1000:50:512 (a file of about eight seconds at each rate).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/upload-throughput"
cd "$root"
export PATH="$root/.tools/node_modules/.bin:$root/.tools/node_modules/binaryen/bin:$HOME/.cargo/bin:$PATH"

need() { command -v "$1" >/dev/null || { echo "upload-throughput: '$1' not found ($2)" >&2; exit 1; }; }
need curl "apt-get install -y curl"
need jq "apt-get install -y jq"
need node "apt-get install -y nodejs"
need /usr/bin/chromium "apt-get install -y chromium"

# playwright-core: e2e's, else one installed under .tools.
if [[ -d "$root/e2e/node_modules/playwright-core" ]]; then
  export NODE_PATH="$root/e2e/node_modules"
elif [[ -d "$root/.tools/node_modules/playwright-core" ]]; then
  export NODE_PATH="$root/.tools/node_modules"
else
  echo "upload-throughput: playwright-core missing: (cd e2e && npm ci) or" \
    "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix .tools playwright-core" >&2
  exit 1
fi

links_spec="${BENCH_LINKS:-}"
[[ -z "$links_spec" && "${BENCH_LINK:-}" == "1" ]] && links_spec="100:20:96,1000:50:512"
links=()
if [[ -n "$links_spec" ]]; then
  IFS=, read -r -a links <<<"$links_spec"
  for link in "${links[@]}"; do
    [[ "$link" =~ ^[0-9]+:[0-9]+:[0-9]+$ ]] || { echo "upload-throughput: bad link '$link' (Mbit/s:latency ms:MiB)" >&2; exit 1; }
  done
fi
if (( ${#links[@]} > 0 )); then
  # Limits for the largest file, and room for every file twice (Ferry's and the bare page's).
  mib=0; total_mib=0
  for link in "${links[@]}"; do
    IFS=: read -r _ _ m <<<"$link"
    (( m > mib )) && mib=$m
    total_mib=$(( total_mib + 2 * m ))
  done
else
  mib="${BENCH_MIB:-1024}"
  total_mib=$(( 4 * mib ))
fi
bin="${FERRY_BIN:-$root/target/release/ferry}"
if [[ ! -x "$bin" ]]; then
  echo "building $bin (cargo build --release --bin ferry)…" >&2
  cargo build --release --package ferry-backend --bin ferry >&2
fi

tmp="$(mktemp -d /tmp/ferry-upload-bench.XXXXXX)"
site="${SITE_DIR:-}"
if [[ -z "$site" ]]; then
  need trunk "cargo install trunk --version 0.21.14 --locked"
  site="$tmp/site"
  echo "building the site (trunk build --release)…" >&2
  cargo fetch --locked >/dev/null
  trunk build --release --dist "$site" >"$tmp/trunk.log" 2>&1 || { cat "$tmp/trunk.log" >&2; exit 1; }
  # As infra/build-site.sh does: the site's CSP (`script-src 'self'`) refuses inline scripts.
  python3 infra/externalize-inline-scripts.py "$site/index.html" >&2
fi
[[ -f "$site/index.html" ]] || { echo "upload-throughput: no $site/index.html" >&2; exit 1; }

server=""
cleanup() {
  if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
    kill -INT "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  if [[ "${BENCH_KEEP:-}" == "1" ]]; then
    echo "kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
port="$(free_port)"
s3_port="$(free_port)"
while [[ "$s3_port" == "$port" ]]; do s3_port="$(free_port)"; done
url="http://127.0.0.1:$port"

file="$tmp/bench-${mib}MiB.bin"
if (( ${#links[@]} == 0 )); then
  echo "writing a ${mib} MiB file of random bytes…" >&2
  head -c "$((mib * 1024 * 1024))" /dev/urandom >"$file"
fi

# Quota and size limits large enough for every copy; everything else as shipped.
FERRY_MAX_FILE_SIZE=$(( (mib + 64) * 1024 * 1024 )) \
FERRY_USER_QUOTA=$(( (total_mib + 64) * 1024 * 1024 )) \
RUST_LOG="${RUST_LOG:-warn}" \
  "$bin" serve --port "$port" --s3-port "$s3_port" --data-dir "$tmp/data" --site-dir "$site" \
  >"$tmp/ferry.log" 2>&1 &
server=$!
for _ in $(seq 1 150); do
  curl -fsS "$url/api/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$tmp/ferry.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$url/api/health" >/dev/null || { echo "ferry serve did not start" >&2; cat "$tmp/ferry.log" >&2; exit 1; }

# --- 1. curl through a presigned PUT ---------------------------------------------------------
config="$(curl -fsS "$url/config.json")"
cognito="$(jq -r '.cognito_endpoint' <<<"$config")"
client_id="$(jq -r '.client_id' <<<"$config")"
[[ "$cognito" == http* ]] || cognito="$url${cognito}"
email="bench-curl-$RANDOM$RANDOM@example.com"
password="bench-Passw0rd-$RANDOM"
idp() {
  curl -fsS "$cognito" -H "Content-Type: application/x-amz-json-1.1" \
    -H "X-Amz-Target: AWSCognitoIdentityProviderService.$1" -d "$2"
}
idp SignUp "$(jq -nc --arg c "$client_id" --arg u "$email" --arg p "$password" \
  '{ClientId:$c, Username:$u, Password:$p, UserAttributes:[{Name:"email", Value:$u}]}')" >/dev/null
token="$(idp InitiateAuth "$(jq -nc --arg c "$client_id" --arg u "$email" --arg p "$password" \
  '{ClientId:$c, AuthFlow:"USER_PASSWORD_AUTH", AuthParameters:{USERNAME:$u, PASSWORD:$p}}')" \
  | jq -r '.AuthenticationResult.AccessToken')"
api() { curl -fsS "$url$1" -H "Authorization: Bearer $token" -H "Content-Type: application/json" -d "$2"; }

# A multipart upload of $1 for the bare page, asked for like the app does (checksums computed
# here): prints its file id and writes the parts (URL, headers, range, checksum) to $2.
bare_upload() {
  local bench_file="$1" out="$2" size ticket id part_size
  size="$(stat -c %s "$bench_file")"
  ticket="$(api /api/uploads/multipart "$(jq -nc --arg n "bare-$(basename "$bench_file")" --argjson s "$size" \
    '{name:$n, size:$s, content_type:"application/octet-stream"}')")"
  id="$(jq -r '.file.id' <<<"$ticket")"
  part_size="$(jq -r '.part_size' <<<"$ticket")"
  python3 - "$bench_file" "$part_size" >"$out.checksums" <<'PY'
import base64, hashlib, json, sys
path, part_size = sys.argv[1], int(sys.argv[2])
parts = []
with open(path, "rb") as f:
    while chunk := f.read(part_size):
        parts.append({"number": len(parts) + 1, "sha256": base64.b64encode(hashlib.sha256(chunk).digest()).decode()})
print(json.dumps(parts))
PY
  jq -c '_nwise(100) | {parts: .}' "$out.checksums" | while IFS= read -r batch; do
    api "/api/files/$id/parts" "$batch" | jq -c '.parts[]'
  done | jq -s --argjson ps "$part_size" --argjson size "$size" \
    'map(. + {start: ((.number - 1) * $ps), end: ([.number * $ps, $size] | min),
              sha256: (.headers[] | select(.name | ascii_downcase == "x-amz-checksum-sha256") | .value)})' \
    >"$out"
  echo "$id"
}

# Completes the bare page's upload $1 with the ETags the browser got ($2: its result object).
bare_complete() {
  jq -c '{parts: [.etags[] | {number: .[0], etag: .[1], sha256: .[2]}]}' <<<"$2" >"$tmp/bare-complete.json"
  api "/api/files/$1/complete" "@$tmp/bare-complete.json" >/dev/null \
    || { echo "upload-throughput: the bare page's upload did not complete" >&2; exit 1; }
}

if (( ${#links[@]} > 0 )); then
  link_json="[]"
  i=0
  for link in "${links[@]}"; do
    IFS=: read -r mbit latency link_mib <<<"$link"
    i=$((i + 1))
    link_file="$tmp/link$i-${mbit}Mbit-${link_mib}MiB.bin"
    echo "writing a ${link_mib} MiB file of random bytes for ${mbit} Mbit/s, ${latency} ms…" >&2
    head -c "$((link_mib * 1024 * 1024))" /dev/urandom >"$link_file"
    bare_id="$(bare_upload "$link_file" "$tmp/bare-parts-$i.json")"
    link_json="$(jq -c --argjson mbit "$mbit" --argjson lat "$latency" --arg f "$link_file" \
      --arg p "$tmp/bare-parts-$i.json" --arg id "$bare_id" \
      '. + [{mbit: $mbit, latency_ms: $lat, file: $f, bare_parts: $p, bare_id: $id}]' <<<"$link_json")"
  done
  echo "browser: Ferry's UI, then the bare page, over each link…" >&2
  browser_json="$(FERRY_URL="$url" BENCH_FILE="$tmp/unused" FERRY_PID="$server" BENCH_LINKS="$link_json" \
    node --experimental-websocket --no-warnings "$here/browser.cjs")"
  n="$(jq '.links | length' <<<"$browser_json")"
  for ((k = 0; k < n; k++)); do
    bare_complete "$(jq -r ".[$k].bare_id" <<<"$link_json")" "$(jq -c ".links[$k].bare" <<<"$browser_json")"
  done
  echo
  echo "uploads over an emulated link (Chromium network emulation; load $(cut -d' ' -f1-3 /proc/loadavg))"
  jq -r '
    def r(x): (x * 100 | round / 100);
    def pct(x): (x * 1000 | round / 10);
    ["link", "file", "Ferry sent", "Ferry MiB/s", "of link", "parts phase", "bare page", "bare MiB/s", "of link", "goal"],
    (.links[] | (.mbit * 1e6 / 8) as $rate | (.size / 1048576) as $mib
      | (if .mbit <= 100 then 0.9 else 0.7 end) as $goal
      | ["\(.mbit) Mbit/s, \(.latency_ms) ms", "\($mib) MiB",
         "\(r(.sent_secs)) s", "\(r($mib / .sent_secs))", "\(pct(.size / .sent_secs / $rate)) %",
         "\(r(.parts_secs)) s (\(pct(.size / .parts_secs / $rate)) %)",
         "\(r(.bare.secs)) s", "\(r($mib / .bare.secs))", "\(pct(.size / .bare.secs / $rate)) %",
         "\(pct($goal)) % — \(if .size / .sent_secs / $rate >= $goal then "met" else "NOT met" end)"])
    | @tsv' <<<"$browser_json" | column -t -s $'\t'
  echo
  echo "Ferry sent = drop → \"Uploaded\" (sample hash, API calls, parts, complete); parts phase ="
  echo "first part PUT → last part answered; the bare page hashes and PUTs the same parts ${BENCH_BARE_PARALLEL:-4} at once."
  exit 0
fi

size="$(stat -c %s "$file")"
ticket="$(api /api/uploads "$(jq -nc --arg n "curl-$(basename "$file")" --argjson s "$size" \
  '{name:$n, size:$s, content_type:"application/octet-stream"}')")"
put_url="$(jq -r '.upload.url' <<<"$ticket")"
headers=()
while IFS= read -r h; do headers+=(-H "$h"); done < <(jq -r '.upload.headers[] | select(.name|ascii_downcase != "content-length") | "\(.name): \(.value)"' <<<"$ticket")
echo "curl: PUT ${mib} MiB to the local S3 endpoint…" >&2
sync  # every timed upload starts with no dirty pages waiting
curl_out="$(curl -sS -o /dev/null -X PUT -T "$file" "${headers[@]}" -H "Expect:" \
  -w '%{http_code} %{time_total}' "$put_url")"
read -r curl_status curl_secs <<<"$curl_out"
[[ "$curl_status" == 2* ]] || { echo "curl PUT failed: HTTP $curl_status" >&2; exit 1; }

# --- 3's part URLs, asked for by the API like the app does ---------------------------------
bare_id="$(bare_upload "$file" "$tmp/bare-parts.json")"

# --- 2 and 3 in Chromium -----------------------------------------------------------------------
echo "browser: upload through Ferry's UI, then from a bare page…" >&2
browser_json="$(FERRY_URL="$url" BENCH_FILE="$file" FERRY_PID="$server" BARE_PARTS="$tmp/bare-parts.json" \
  node --experimental-websocket --no-warnings "$here/browser.cjs")"
# The bare upload completes like the app's (and must: its parts were accepted).
bare_complete "$bare_id" "$(jq -c '.bare' <<<"$browser_json")"

# --- Report ---------------------------------------------------------------------------------
jq -nr --argjson size "$size" --argjson curl "$curl_secs" --argjson b "$browser_json" \
  --argjson cores "$(nproc)" '
  def mbs(secs): ($size / 1048576 / secs * 10 | round / 10);
  def mib(bytes): (bytes / 1048576 | round);
  def pct(x): (x * 1000 | round / 10);
  [
    "file:                     \($size / 1048576) MiB (random bytes)",
    "curl PUT (presigned):     \($curl * 100 | round / 100) s   \(mbs($curl)) MiB/s",
    "Ferry in Chromium, sent:  \($b.sent_secs * 100 | round / 100) s   \(mbs($b.sent_secs)) MiB/s   (\($b.parts) parts of \($b.part_mib) MiB, \($b.parallel) at once, SHA-256 per part)",
    "Ferry in Chromium, ready: \($b.ready_secs * 100 | round / 100) s   \(mbs($b.ready_secs)) MiB/s   (the app asks 0.3 s after the upload, then every 2 s)",
    "Ferry encrypted, sent:    \($b.encrypted.sent_secs * 100 | round / 100) s   \(mbs($b.encrypted.sent_secs)) MiB/s   = \(pct($b.sent_secs / $b.encrypted.sent_secs)) % of plain (goal >= 80 %) — \(if $b.sent_secs / $b.encrypted.sent_secs >= 0.8 then "met" else "NOT met" end); parts \($b.encrypted.parts_secs * 100 | round / 100) s (\(mbs($b.encrypted.parts_secs)) MiB/s); CPU Chromium \($b.encrypted.browser_cpu_secs * 100 | round / 100) s, ferry serve \($b.encrypted.server_cpu_secs * 100 | round / 100) s",
    "  encrypted peak memory:  renderer RSS \(mib($b.encrypted.peak_renderer_rss)) MiB; all Chromium processes \(mib($b.encrypted.peak_chromium_rss)) MiB PSS (before: \(mib($b.encrypted.idle_chromium_rss)) MiB); JS heap \(mib($b.encrypted.peak_js_heap)) MiB",
    "  encrypted peak arrays:  page JS heap \(mib($b.encrypted.peak_arrays.page_heap)) MiB, array buffers \(mib($b.encrypted.peak_arrays.page_buffers)) MiB; sealing workers (\($b.encrypted.peak_arrays.workers)) JS heap \(mib($b.encrypted.peak_arrays.worker_heap)) MiB, array buffers \(mib($b.encrypted.peak_arrays.worker_buffers)) MiB; browser process (blob storage) \(mib($b.encrypted.peak_browser_process)) MiB PSS (before: \(mib($b.encrypted.idle_browser_process)) MiB); every other process (renderers too: forked from the zygote, they keep its command line) \(mib($b.encrypted.peak_other_processes)) MiB",
    "  encrypted flat memory:  memory footprint (RssAnon+VmSwap) through the upload, peaks by quarter: renderer \($b.encrypted.renderer_footprint.peaks | map(mib(.)) | join(" / ")) MiB (second half \(mib($b.encrypted.renderer_footprint.rise)) MiB above the first), browser process (blob storage) \($b.encrypted.browser_footprint.peaks | map(mib(.)) | join(" / ")) MiB (\(mib($b.encrypted.browser_footprint.rise)) MiB) — \(if $b.encrypted.renderer_footprint.flat and $b.encrypted.browser_footprint.flat then "flat" else "NOT flat" end) (goal: the peak of the second half at most two 32 MiB parts above that of the first; \($b.encrypted.samples) samples)",
    "  plain, the same:        renderer \($b.renderer_footprint.peaks | map(mib(.)) | join(" / ")) MiB (\(mib($b.renderer_footprint.rise)) MiB), browser process \($b.browser_footprint.peaks | map(mib(.)) | join(" / ")) MiB (\(mib($b.browser_footprint.rise)) MiB) — \(if $b.renderer_footprint.flat and $b.browser_footprint.flat then "flat" else "NOT flat" end)",
    "ratio Ferry/curl:         \(pct($curl / $b.sent_secs)) % until sent, \(pct($curl / $b.ready_secs)) % until ready (goal >= 70 %) — \(if $curl / $b.sent_secs >= 0.7 then "met" else "NOT met" end)",
    "bare page in Chromium:    \($b.bare.secs * 100 | round / 100) s   \(mbs($b.bare.secs)) MiB/s   = \(pct($curl / $b.bare.secs)) % of curl, the ceiling of WebCrypto + XHR parts in this browser (Chromium CPU \($b.bare.browser_cpu_secs * 100 | round / 100) s, ferry serve \($b.bare.server_cpu_secs * 100 | round / 100) s); Ferry reaches \(pct($b.bare.secs / $b.sent_secs)) % of it",
    "  of which:               \($b.before_parts_secs * 100 | round / 100) s before the first part (sample hash, API), \($b.parts_secs * 100 | round / 100) s sending parts (\(mbs($b.parts_secs)) MiB/s), \($b.complete_secs * 100 | round / 100) s in POST /complete (the server assembles the object)",
    "part PUTs:                \($b.part_puts) for \($b.parts) parts (more = retries or renewals)",
    "CPU until sent:           Chromium \($b.browser_cpu_secs * 100 | round / 100) s, ferry serve \($b.server_cpu_secs * 100 | round / 100) s of the \($b.sent_secs * $cores * 10 | round / 10) CPU-seconds \($cores) cores had",
    "browser peak memory:      renderer RSS \(mib($b.peak_renderer_rss)) MiB; all Chromium processes \(mib($b.peak_chromium_rss)) MiB PSS (idle before the upload: \(mib($b.idle_chromium_rss)) MiB); JS heap \(mib($b.peak_js_heap)) MiB"
  ] | .[]'
if [[ "${BENCH_TIMELINE:-}" == "1" ]]; then
  jq -r '
    def line: map("\(.[0])s \(.[1])/\(.[2])") | join("  ");
    "Memory footprint through the upload (s renderer/browser process MiB), plain:     \(.timeline | line)",
    "Memory footprint through the upload (s renderer/browser process MiB), encrypted: \(.encrypted.timeline | line)"' <<<"$browser_json"
fi
if [[ "${BENCH_THREADS:-}" == "1" ]]; then
  jq -r '
    def threads: map("\(.[1]) s \(.[0])") | join(", ");
    "Chromium CPU by thread, plain:     \(.cpu_threads | threads)",
    "Chromium CPU by thread, encrypted: \(.encrypted.cpu_threads | threads)"' <<<"$browser_json"
fi

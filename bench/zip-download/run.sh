#!/usr/bin/env bash
# "Download all" of a link over 5 GiB (so a ZIP64 archive), streamed by headless Chromium from a
# fresh local stack, beside downloading the same files one by one as plain files in the same
# browser. Starts `ferry serve` on free ports with the release site, uploads the files through
# presigned PUTs (one random file of BENCH_BIG_MIB, uploaded BENCH_BIG_COUNT times in folders,
# plus BENCH_SMALL small ones), makes one link of all of them, then browser.cjs times both ways,
# samples the browser's memory, and checks the ZIP with Python's zipfile (every CRC, every size).
# Prints throughput, the ratio ZIP / plain (goal >= 80 %) and the renderer's peak memory (goal
# < 300 MiB). Heavy: about 16 GiB of disk traffic; needs ~12 GiB free under $TMPDIR.
#
#   bench/zip-download/run.sh              build the release site first (cargo xtask site --release)
#   bench/zip-download/run.sh --no-build   use the dist/ there is
#   FERRY_BIN=target/release/ferry ...     the server (default: target/debug/ferry)
#   BENCH_BIG_MIB=1300 BENCH_BIG_COUNT=4 BENCH_SMALL=20   what the link holds (defaults)
#   BENCH_TRACE=1 ...                      every renderer's RSS sample (4 a second) and the page's
#                                          JS heap and array buffers on stderr
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/zip-download"
cd "$root"

need() { command -v "$1" >/dev/null || { echo "zip-download: '$1' not found ($2)" >&2; exit 1; }; }
need curl "apt-get install -y curl"
need jq "apt-get install -y jq"
need node "apt-get install -y nodejs"
need python3 "apt-get install -y python3"
need /usr/bin/chromium "apt-get install -y chromium"
if [[ -d "$root/e2e/node_modules/playwright-core" ]]; then
  export NODE_PATH="$root/e2e/node_modules"
else
  echo "zip-download: playwright-core missing: (cd e2e && npm ci)" >&2
  exit 1
fi

site="${SITE_DIR:-$root/dist}"
if [[ -z "${SITE_DIR:-}" && "${1:-}" != "--no-build" ]]; then
  echo "building the release site (cargo xtask site --release)…" >&2
  cargo xtask site --release >&2
fi
[[ -f "$site/share.html" && -f "$site/sw.js" ]] || { echo "zip-download: no $site/share.html or sw.js; build first" >&2; exit 1; }
bin="${FERRY_BIN:-$root/target/debug/ferry}"
[[ -x "$bin" ]] || { echo "zip-download: no $bin (cargo build --workspace --bins)" >&2; exit 1; }

big_mib="${BENCH_BIG_MIB:-1300}"
big_count="${BENCH_BIG_COUNT:-4}"
small_count="${BENCH_SMALL:-20}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ferry-zip-download.XXXXXX")"
server=""
cleanup() {
  if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
    kill -INT "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
port="$(free_port)"
s3_port="$(free_port)"
while [[ "$s3_port" == "$port" ]]; do s3_port="$(free_port)"; done
url="http://127.0.0.1:$port"

# Room for the files, and URLs that outlive a slow run.
FERRY_MAX_FILE_SIZE=$((5 << 30)) FERRY_USER_QUOTA=$((64 << 30)) FERRY_DOWNLOAD_URL_TTL_SECS=3600 \
  RUST_LOG="${RUST_LOG:-warn}" "$bin" serve --port "$port" --s3-port "$s3_port" \
  --data-dir "$tmp/data" --site-dir "$site" >"$tmp/ferry.log" 2>&1 &
server=$!
for _ in $(seq 1 150); do
  curl -fsS "$url/api/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$tmp/ferry.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$url/api/health" >/dev/null || { echo "ferry serve did not start" >&2; cat "$tmp/ferry.log" >&2; exit 1; }

config="$(curl -fsS "$url/config.json")"
cognito="$(jq -r '.cognito_endpoint' <<<"$config")"
client_id="$(jq -r '.client_id' <<<"$config")"
[[ "$cognito" == http* ]] || cognito="$url${cognito}"
email="bench-zip-$RANDOM$RANDOM@example.com"
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
api() { curl -fsS "$url$1" -H "Authorization: Bearer $token" -H "Content-Type: application/json" "${@:2}"; }

# upload FILE NAME FOLDER: one presigned PUT; prints the file id.
upload() {
  local size ticket put
  size="$(stat -c %s "$1")"
  ticket="$(api /api/uploads -d "$(jq -nc --arg n "$2" --arg f "$3" --argjson s "$size" \
    '{name:$n, size:$s, content_type:"application/octet-stream"} + (if $f == "" then {} else {folder:$f} end)')")"
  put=(curl -fsS -X PUT -H "Expect:" -T "$1" "$(jq -r '.upload.url' <<<"$ticket")")
  while IFS= read -r h; do put+=(-H "$h"); done < <(jq -r \
    '.upload.headers[] | select(.name|ascii_downcase != "content-length") | "\(.name): \(.value)"' <<<"$ticket")
  "${put[@]}" >/dev/null
  jq -r '.file.id' <<<"$ticket"
}

echo "seeding: $big_count × $big_mib MiB + $small_count small files…" >&2
head -c "$((big_mib << 20))" /dev/urandom >"$tmp/big.bin"
ids=()
for i in $(seq 1 "$big_count"); do
  ids+=("$(upload "$tmp/big.bin" "disk image $i.bin" "images/set $i")")
done
for i in $(seq 1 "$small_count"); do
  head -c "$(( (i * 97 % 2000 + 1) << 10 ))" /dev/urandom >"$tmp/small.bin"
  ids+=("$(upload "$tmp/small.bin" "note $i – é.txt" "notes/$((i % 3))")")
done
rm -f "$tmp/big.bin" "$tmp/small.bin"
for id in "${ids[@]}"; do
  status=""
  for _ in $(seq 1 300); do
    status="$(api "/api/files/$id" | jq -r '.status')"
    [[ "$status" == "ready" ]] && break
    sleep 0.2
  done
  [[ "$status" == "ready" ]] || { echo "zip-download: file $id is $status, not ready" >&2; exit 1; }
done
share_url="$(api /api/shares -d "$(printf '%s\n' "${ids[@]}" | jq -R . | jq -sc '{file_ids: .}')" | jq -r '.url')"
[[ "$share_url" == http* ]] || { echo "zip-download: no link made" >&2; exit 1; }

result="$(FERRY_URL="$url" SHARE_URL="$share_url" BENCH_DIR="$tmp" FERRY_PID="$server" \
  node "$here/browser.cjs")"
jq -r '
  def mib: . / 1048576 | floor;
  "files: \(.files), \(.bytes / 1073741824 * 100 | floor / 100) GiB; ZIP \(.zip.size / 1073741824 * 100 | floor / 100) GiB, zip64: \(.zip.zip64), checked by Python zipfile: \(.zip.check)",
  "plain files, one by one: \(.plain.secs * 10 | floor / 10) s, \(.plain.mb_s | floor) MB/s",
  "Download all (ZIP):     \(.zip.secs * 10 | floor / 10) s, \(.zip.mb_s | floor) MB/s  → \(.zip.mb_s / .plain.mb_s * 100 | floor) % of plain (goal ≥ 80 %)",
  "renderer peak RSS: during plain \(.plain.renderer_peak | mib) MiB, during ZIP \(.zip.renderer_peak | mib) MiB (goal < 300 MiB); page JS heap peak \(.zip.js_heap_peak | mib) MiB, its array buffers \(.zip.page_buffers_peak | mib) MiB; browser total PSS peak \(.zip.total_peak | mib) MiB",
  "CPU during ZIP: browser \(.zip.browser_cpu_secs * 10 | floor / 10) s, server \(.zip.server_cpu_secs * 10 | floor / 10) s"
' <<<"$result"
echo "(times come from a shared machine and vary from run to run)"

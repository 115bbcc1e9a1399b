#!/usr/bin/env bash
# "Download all" of a link over 5 GiB (so a ZIP64 archive), streamed by headless Chromium from a
# fresh local stack, beside downloading the same files one by one, and all of it twice: as plain
# files and as an end-to-end encrypted link of the same files. Starts `ferry serve` on free
# ports with the release site (bench/lib/local-stack.sh), uploads the files through presigned
# PUTs (one random file of BENCH_BIG_MIB, uploaded BENCH_BIG_COUNT times in folders, plus
# BENCH_SMALL small ones; each also encrypted by encrypt.cjs under one link key), makes one link
# of each set, then browser.cjs times every way, samples memory (the renderer's memory footprint
# as Chromium counts it, its RSS, the page's and the download worker's heap and array buffers)
# and checks both ZIPs with Python's zipfile (every CRC, every size). Prints throughput, each
# against plain files one by one (goal: Download all >= 80 %, encrypted too) and the renderer's
# peak memory footprint (goal < 300 MiB). Heavy: about 50 GiB of disk traffic; needs ~18 GiB free under $TMPDIR.
#
#   bench/zip-download/run.sh              build the release site first (cargo xtask site --release)
#   bench/zip-download/run.sh --no-build   use the dist/ there is
#   FERRY_BIN=target/release/ferry ...     the server (default: target/debug/ferry)
#   BENCH_BIG_MIB=1300 BENCH_BIG_COUNT=4 BENCH_SMALL=20   what each link holds (defaults)
#   BENCH_TRACE=1 ...                      every memory sample (4 a second) on stderr: each
#                                          renderer's RSS, the page's and the worker's heap
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
bench=zip-download
# shellcheck source=../lib/local-stack.sh
source "$root/bench/lib/local-stack.sh"
# Room for the files, and URLs that outlive a slow run.
stack_start "$site" "$bin" FERRY_MAX_FILE_SIZE=$((5 << 30)) FERRY_USER_QUOTA=$((64 << 30)) \
  FERRY_DOWNLOAD_URL_TTL_SECS=3600
stack_sign_in bench-zip

# The same files twice: as they are, and end-to-end encrypted under one link key (encrypt.cjs,
# the format the app writes), so both links hold the same plaintext.
key="$(head -c 32 /dev/urandom | basenc --base64url | tr -d '=')"
plain_ids=()
sealed_ids=()
# seed FILE NAME FOLDER: one plain and one encrypted upload of FILE.
seed() {
  plain_ids+=("$(stack_upload "$1" "$(jq -nc --arg n "$2" --arg f "$3" \
    '{name:$n, content_type:"application/octet-stream"} + (if $f == "" then {} else {folder:$f} end)')")")
  local meta
  meta="$(node "$here/encrypt.cjs" "$key" "$1" "$tmp/sealed.bin" "$2" "$3")"
  sealed_ids+=("$(stack_upload "$tmp/sealed.bin" "$(jq -nc --arg m "$meta" \
    '{name:"encrypted", content_type:"application/octet-stream", encrypted:{meta:$m, version:1}}')")")
  rm -f "$tmp/sealed.bin"
}
echo "seeding: $big_count × $big_mib MiB + $small_count small files, plain and encrypted…" >&2
head -c "$((big_mib << 20))" /dev/urandom >"$tmp/big.bin"
for i in $(seq 1 "$big_count"); do
  seed "$tmp/big.bin" "disk image $i.bin" "images/set $i"
done
for i in $(seq 1 "$small_count"); do
  head -c "$(( (i * 97 % 2000 + 1) << 10 ))" /dev/urandom >"$tmp/small.bin"
  seed "$tmp/small.bin" "note $i – é.txt" "notes/$((i % 3))"
done
rm -f "$tmp/big.bin" "$tmp/small.bin"
stack_wait_ready "${plain_ids[@]}" "${sealed_ids[@]}"
link() { api /api/shares -d "$(printf '%s\n' "$@" | jq -R . | jq -sc '{file_ids: .}')" | jq -r '.url'; }
share_url="$(link "${plain_ids[@]}")"
sealed_url="$(link "${sealed_ids[@]}")"
[[ "$share_url" == http* && "$sealed_url" == http* ]] || { echo "zip-download: no link made" >&2; exit 1; }

result="$(FERRY_URL="$url" SHARE_URL="$share_url" SEALED_URL="$sealed_url#k=$key" BENCH_DIR="$tmp" \
  FERRY_PID="$server" node --experimental-websocket --no-warnings "$here/browser.cjs")"
jq -r '
  def mib: . / 1048576 | floor;
  def gib: . / 1073741824 * 100 | floor / 100;
  def pct($of): . / $of * 100 | floor;
  .plain.one_by_one.mb_s as $plain | .plain.zip.mb_s as $plainzip
  | "files: \(.plain.files) per link, \(.plain.bytes | gib) GiB; ZIP \(.plain.zip.size | gib) GiB, zip64: \(.plain.zip.zip64); checked by Python zipfile: plain \(.plain.zip.check), encrypted \(.encrypted.zip.check)",
    "                          time     MB/s  of plain files | renderer footprint | renderer RSS (anon/file/shmem; all renderers private) | page heap/buffers | worker heap/buffers | browser PSS",
    ([["plain, one by one", .plain.one_by_one], ["plain, Download all", .plain.zip],
      ["encrypted, one by one", .encrypted.one_by_one], ["encrypted, Download all", .encrypted.zip]][]
     | .[1] as $r
     | "\(.[0] + "                        " | .[:24]) \($r.secs * 10 | floor / 10) s  \($r.mb_s | floor)  \($r.mb_s | pct($plain)) % | \($r.renderer_footprint | mib) MiB | \($r.renderer_rss | mib) MiB (\($r.renderer_anon | mib)/\($r.renderer_file | mib)/\($r.renderer_shmem | mib); \($r.renderers_private | mib)) | \($r.page_heap | mib)/\($r.page_buffers | mib) MiB | \($r.worker_heap | mib)/\($r.worker_buffers | mib) MiB | \($r.total_pss | mib) MiB"),
    "goals: Download all ≥ 80 % of plain files (plain \(.plain.zip.mb_s | pct($plain)) %, encrypted \(.encrypted.zip.mb_s | pct($plain)) %; encrypted vs plain ZIP \(.encrypted.zip.mb_s | pct($plainzip)) %), renderer footprint < 300 MiB (plain \(.plain.zip.renderer_footprint | mib) MiB, encrypted \(.encrypted.zip.renderer_footprint | mib) MiB)",
    "CPU during Download all: browser \(.plain.zip.browser_cpu_secs * 10 | floor / 10) s plain, \(.encrypted.zip.browser_cpu_secs * 10 | floor / 10) s encrypted; server \(.plain.zip.server_cpu_secs * 10 | floor / 10) s, \(.encrypted.zip.server_cpu_secs * 10 | floor / 10) s"
' <<<"$result"
echo "(times come from a shared machine and vary from run to run; footprint: the renderer's own memory as Chromium's Task Manager counts it, RssAnon + VmSwap; RSS: the largest renderer, which runs the page and its download worker, with Chromium's code mapped from disk)"

#!/usr/bin/env bash
# First load of Ferry's pages, as a visitor's browser fetches them: starts `ferry serve` on free
# ports with the release site, makes a user with a shared file, then headless Chromium opens `/`,
# `/files` (signed in) and `/s/{token}` with an empty cache (measure.cjs). Prints per page every
# request with the bytes it transferred (brotli, as the server sends precompressed assets to
# `Accept-Encoding: br`), the total against the goal (<= 150 KB for / and /files, <= 73 KB for
# /s/{token}), and the first contentful paint beside the time the wasm finished loading.
# Sizes are exact; times depend on what else the machine is doing.
#
#   bench/first-load/run.sh              build the release site (cargo xtask site --release) and measure
#   bench/first-load/run.sh --no-build   measure the dist/ there is
#   SITE_DIR=/tmp/site ...               measure another built site (implies --no-build)
#   FERRY_BIN=target/release/ferry ...   the server (default: target/debug/ferry)
#   BENCH_RUNS=5 ...                     visits per page (default 3; times vary, sizes do not)
#   BENCH_JSON=out.json ...              also write the raw figures
#   bench/first-load/run.sh --lighthouse Lighthouse mobile scores instead (lighthouse.sh; npm ci
#                                        here installs the pinned lighthouse on first use)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/first-load"
cd "$root"

need() { command -v "$1" >/dev/null || { echo "first-load: '$1' not found ($2)" >&2; exit 1; }; }
need curl "apt-get install -y curl"
need jq "apt-get install -y jq"
need node "apt-get install -y nodejs"
need /usr/bin/chromium "apt-get install -y chromium"
build=1
lighthouse=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --lighthouse) lighthouse=1 ;;
    *) echo "first-load: unknown argument '$arg' (--no-build, --lighthouse)" >&2; exit 2 ;;
  esac
done
if (( lighthouse )); then
  if [[ ! -x "$here/node_modules/.bin/lighthouse" ]]; then
    echo "installing lighthouse (npm ci --prefix bench/first-load)…" >&2
    npm ci --prefix "$here" --ignore-scripts --no-audit --no-fund >&2
  fi
elif [[ -d "$root/e2e/node_modules/playwright-core" ]]; then
  export NODE_PATH="$root/e2e/node_modules"
else
  echo "first-load: playwright-core missing: (cd e2e && npm ci)" >&2
  exit 1
fi

site="${SITE_DIR:-$root/dist}"
if [[ -z "${SITE_DIR:-}" ]] && (( build )); then
  echo "building the release site (cargo xtask site --release)…" >&2
  cargo xtask site --release >&2
fi
[[ -f "$site/index.html" ]] || { echo "first-load: no $site/index.html; build first" >&2; exit 1; }

bin="${FERRY_BIN:-$root/target/debug/ferry}"
[[ -x "$bin" ]] || { echo "first-load: no $bin (cargo build --workspace --bins)" >&2; exit 1; }

tmp="$(mktemp -d /tmp/ferry-first-load.XXXXXX)"
bench=first-load
# shellcheck source=../lib/local-stack.sh
source "$root/bench/lib/local-stack.sh"
stack_start "$site" "$bin"

# A user with one small file, shared without a password (the recipients' page shows its name).
stack_sign_in bench-share
name="holiday-plan.pdf"
head -c 200000 /dev/urandom >"$tmp/$name"
file_id="$(stack_upload "$tmp/$name" "$(jq -nc --arg n "$name" '{name:$n, content_type:"application/pdf"}')")"
stack_wait_ready "$file_id"
share_url="$(api "/api/files/$file_id/shares" -d '{}' | jq -r '.url')"

if (( lighthouse )); then
  FERRY_URL="$url" SHARE_URL="$share_url" "$here/lighthouse.sh"
  exit 0
fi
FERRY_URL="$url" SHARE_URL="$share_url" SHARE_NAME="$name" node "$here/measure.cjs"
echo "(sizes are exact; times come from a shared machine and vary from run to run)"

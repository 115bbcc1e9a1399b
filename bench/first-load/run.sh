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

RUST_LOG="${RUST_LOG:-warn}" "$bin" serve --port "$port" --s3-port "$s3_port" \
  --data-dir "$tmp/data" --site-dir "$site" >"$tmp/ferry.log" 2>&1 &
server=$!
for _ in $(seq 1 150); do
  curl -fsS "$url/api/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$tmp/ferry.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$url/api/health" >/dev/null || { echo "ferry serve did not start" >&2; cat "$tmp/ferry.log" >&2; exit 1; }

# A user with one small file, shared without a password (the recipients' page shows its name).
config="$(curl -fsS "$url/config.json")"
cognito="$(jq -r '.cognito_endpoint' <<<"$config")"
client_id="$(jq -r '.client_id' <<<"$config")"
[[ "$cognito" == http* ]] || cognito="$url${cognito}"
email="bench-share-$RANDOM$RANDOM@example.com"
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

name="holiday-plan.pdf"
head -c 200000 /dev/urandom >"$tmp/$name"
ticket="$(api /api/uploads -d "$(jq -nc --arg n "$name" '{name:$n, size:200000, content_type:"application/pdf"}')")"
file_id="$(jq -r '.file.id' <<<"$ticket")"
put=(curl -fsS -X PUT -H "Expect:" --data-binary "@$tmp/$name" "$(jq -r '.upload.url' <<<"$ticket")")
while IFS= read -r h; do put+=(-H "$h"); done < <(jq -r \
  '.upload.headers[] | select(.name|ascii_downcase != "content-length") | "\(.name): \(.value)"' <<<"$ticket")
"${put[@]}" >/dev/null
for _ in $(seq 1 100); do
  [[ "$(api "/api/files/$file_id" | jq -r '.status')" == "ready" ]] && break
  sleep 0.1
done
share_url="$(api "/api/files/$file_id/shares" -d '{}' | jq -r '.url')"

if (( lighthouse )); then
  FERRY_URL="$url" SHARE_URL="$share_url" "$here/lighthouse.sh"
  exit 0
fi
FERRY_URL="$url" SHARE_URL="$share_url" SHARE_NAME="$name" node "$here/measure.cjs"
echo "(sizes are exact; times come from a shared machine and vary from run to run)"

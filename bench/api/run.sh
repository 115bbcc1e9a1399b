#!/usr/bin/env bash
# The API's throughput and `ferry serve`'s memory, on a fresh local stack:
#   1. wrk -t2 -c64 -d10s on GET /api/health, GET /config.json and the authenticated
#      GET /api/files?limit=50 of a user with 100k files: requests/s, p99, the server's CPU time
#      per request, and the ratio list/health (goals: list >= 25k req/s, p99 <= 10 ms, and at
#      least a quarter of health's rate);
#   2. the server's RSS (VmRSS): idle, after 20 sign-ups + sign-ins, after reading all 100k
#      records once, after the wrk runs (goal: <= 80 MiB), and around a burst of 50 concurrent
#      sign-ins (goal: back within 10 MiB of the level before it).
# The 100k records are written by `ferry seed-files` (a hidden subcommand: ready records in a
# few transactions, while the server is stopped); the API would need one upload each.
#
#   bench/api/run.sh
#   BENCH_RECORDS=20000 BENCH_DURATION=5s bench/api/run.sh     smaller and shorter
#   FERRY_BIN=target/debug/ferry ...   another server build (default: target/release/ferry,
#                                      built with `cargo build --release` if missing)
#   RUST_LOG=... ...                   the server's log filter (default: ferry's own default)
#   BENCH_KEEP=1 ...                   keep the data dir and the server log
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/api"
cd "$root"

records="${BENCH_RECORDS:-100000}"
signins="${BENCH_SIGNINS:-20}"
burst="${BENCH_BURST:-50}"
duration="${BENCH_DURATION:-10s}"
threads="${BENCH_THREADS:-2}"
conns="${BENCH_CONNECTIONS:-64}"
bin="${FERRY_BIN:-$root/target/release/ferry}"

need() { command -v "$1" >/dev/null || { echo "bench/api: '$1' not found ($2)" >&2; exit 1; }; }
if ! command -v wrk >/dev/null && [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "installing wrk (apt-get)…" >&2
  apt-get update -qq >&2 && apt-get install -y -qq wrk >&2
fi
need wrk "apt-get install -y wrk"
need curl "apt-get install -y curl"
need python3 "apt-get install -y python3"
if [[ -z "${FERRY_BIN:-}" ]]; then
  # Always through cargo: a stale release binary would measure old code.
  echo "building $bin (cargo build --release -p ferry-backend --bin ferry)…" >&2
  cargo build --release -p ferry-backend --bin ferry >&2
fi

tmp="$(mktemp -d /tmp/ferry-api-bench.XXXXXX)"
mkdir -p "$tmp/site"
echo '<!doctype html><title>Ferry</title>' >"$tmp/site/index.html"
server=""
stop_server() {
  if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
    kill -INT "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  server=""
}
sampler=""
cleanup() {
  [[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null || true
  stop_server
  if [[ "${BENCH_KEEP:-}" == "1" ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
start_server() {
  local port s3_port
  port="$(free_port)"
  s3_port="$(free_port)"
  while [[ "$s3_port" == "$port" ]]; do s3_port="$(free_port)"; done
  url="http://127.0.0.1:$port"
  "$bin" serve --port "$port" --s3-port "$s3_port" --data-dir "$tmp/data" --site-dir "$tmp/site" \
    >>"$tmp/ferry.log" 2>&1 &
  server=$!
  for _ in $(seq 1 150); do
    curl -fsS "$url/api/health" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.2
  done
  echo "bench/api: ferry serve did not start" >&2
  cat "$tmp/ferry.log" >&2
  exit 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
load() { awk '{print $1 " " $2 " " $3}' /proc/loadavg; }
cpu_ticks() { awk '{sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13]}' "/proc/$server/stat"; }
hz="$(getconf CLK_TCK)"

# Rows go to a file: rss_row runs in $(…), a subshell.
rss_row() { # label → prints the RSS in KiB
  local k
  k="$(rss_kib)"
  printf '%-52s %8s MiB   load %s\n' "$1" "$(mib "$k")" "$(load)" >>"$tmp/rss.txt"
  echo "$k"
}

# --- The bench user and its records -----------------------------------------------------------
echo "starting ferry serve, signing the bench user up…" >&2
start_server
python3 "$here/client.py" users "$url" bench 1 >"$tmp/bench-user.json"
sub="$(python3 "$here/client.py" sub "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokens"][0])' "$tmp/bench-user.json")")"
stop_server
echo "seeding $records records…" >&2
seed_out="$("$bin" seed-files --data-dir "$tmp/data" --owner "$sub" --count "$records")"

# --- Memory ------------------------------------------------------------------------------------
start_server
sleep 1
idle="$(rss_row "idle (store holds $records records)")"
users_json="$(python3 "$here/client.py" users "$url" user "$signins")"
echo "$users_json" >"$tmp/users.json"
signin_secs="$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["secs"], 2))' "$users_json")"
rss_row "after $signins sign-ups + sign-ins (${signin_secs} s)" >/dev/null
token="$(python3 "$here/client.py" signin "$url" "$tmp/bench-user.json")"
scan_json="$(python3 "$here/client.py" scan "$url" "$token")"
scan_desc="$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%d records, %d pages, %.1f s" % (d["records"], d["pages"], d["secs"]))' "$scan_json")"
after_scan="$(rss_row "after reading every record ($scan_desc)")"

# --- Throughput ----------------------------------------------------------------------------------
wrk_rows=()
declare -A rate p99
run_wrk() { # name path [lua]
  local name="$1" path="$2" out before after requests secs
  sleep 1
  before="$(cpu_ticks)"
  local load_before
  load_before="$(load)"
  if [[ $# -ge 3 ]]; then
    out="$(FERRY_TOKEN="$token" wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$3" "$url$path")"
  else
    out="$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "$url$path")"
  fi
  after="$(cpu_ticks)"
  echo "$out" >>"$tmp/wrk.txt"
  if grep -q "Non-2xx" <<<"$out"; then
    echo "bench/api: $path answered errors:" >&2
    echo "$out" >&2
    exit 1
  fi
  rate[$name]="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p99[$name]="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  requests="$(awk '/requests in/ {print $1}' <<<"$out")"
  secs="$(awk '/requests in/ {sub(/,/, "", $4); print $4}' <<<"$out")"
  wrk_rows+=("$(printf '%-30s %10.0f %9s %9.1f µs   %s → %s' "GET $path" "${rate[$name]}" "${p99[$name]}" \
    "$(awk -v t="$((after - before))" -v hz="$hz" -v n="$requests" 'BEGIN {print t / hz / n * 1e6}')" \
    "$load_before" "$(load)")")
}
echo "wrk -t$threads -c$conns -d$duration: health, config, list…" >&2
run_wrk health /api/health
run_wrk config /config.json
run_wrk list "/api/files?limit=50" "$here/auth.lua"
after_wrk="$(rss_row "after the wrk runs")"

# --- A burst of concurrent sign-ins ----------------------------------------------------------------
sleep 1
before_burst="$(rss_row "before a burst of $burst concurrent sign-ins")"
( peak=0; while kill -0 "$server" 2>/dev/null; do
    k="$(rss_kib)"; (( k > peak )) && { peak=$k; echo "$peak" >"$tmp/peak"; }; sleep 0.05
  done ) &
sampler=$!
burst_json="$(python3 "$here/client.py" burst "$url" "$tmp/users.json" "$burst")"
sleep 2
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=""
printf '%-52s %8s MiB\n' "peak during the burst" "$(mib "$(cat "$tmp/peak" 2>/dev/null || echo 0)")" >>"$tmp/rss.txt"
after_burst="$(rss_row "2 s after the burst")"
sleep 5
after_burst_late="$(rss_row "7 s after the burst")"

# --- Report ------------------------------------------------------------------------------------------
echo
echo "ferry serve ($(basename "$bin"), $(nproc) cores), wrk -t$threads -c$conns -d$duration; load = 1/5/15-min load average"
echo "store: $records records seeded ($seed_out)"
echo
printf '%-30s %10s %9s %12s   %s\n' "request" "req/s" "p99" "server CPU" "load before → after"
printf '%s\n' "${wrk_rows[@]}"
echo
printf '%-52s %8s\n' "RSS of ferry serve" "VmRSS"
cat "$tmp/rss.txt"
echo "burst answers: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(", ".join("%d× %s" % (n, s) for s, n in sorted(d["statuses"].items())), "in %.1f s" % d["secs"])' "$burst_json")"
echo
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) print v / 1000; else if (v ~ /ms$/) print v + 0; else print (v + 0) * 1000 }'; }
verdict() { if awk "BEGIN {exit !($1)}"; then echo "met"; else echo "NOT met"; fi; }
list_ms="$(ms "${p99[list]}")"
ratio="$(awk -v l="${rate[list]}" -v h="${rate[health]}" 'BEGIN {printf "%.2f", l / h}')"
echo "goals:"
printf '  list >= 25000 req/s:              %8.0f   %s\n' "${rate[list]}" "$(verdict "${rate[list]} >= 25000")"
printf '  list p99 <= 10 ms:                %8.2f   %s\n' "$list_ms" "$(verdict "$list_ms <= 10")"
printf '  list / health >= 0.25:            %8s   %s\n' "$ratio" "$(verdict "$ratio >= 0.25")"
printf '  RSS <= 80 MiB (20 sign-ins, %s records, read): %s MiB   %s\n' "$records" \
  "$(mib "$after_scan")" "$(verdict "$after_scan <= 80 * 1024")"
printf '  RSS after the burst within 10 MiB of before:   %+.1f MiB (7 s after: %+.1f)   %s\n' \
  "$(awk -v a="$after_burst" -v b="$before_burst" 'BEGIN {print (a - b) / 1024}')" \
  "$(awk -v a="$after_burst_late" -v b="$before_burst" 'BEGIN {print (a - b) / 1024}')" \
  "$(verdict "$after_burst - $before_burst <= 10 * 1024")"
echo "  (idle was $(mib "$idle") MiB; after the wrk runs $(mib "$after_wrk") MiB)"

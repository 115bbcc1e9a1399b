#!/usr/bin/env bash
# Lambda cold start of the `ferry-api` bootstrap beside a hello-world `lambda_runtime` function,
# against a local Lambda Runtime API (emulator.py): process start → first poll for an event
# (init) and → first response, for
#   hello          the hello-world function (hello/, its own workspace) answering GET /api/health;
#   ferry health   ferry-api answering GET /api/health (init, routing, no AWS call);
#   ferry list     ferry-api answering an authenticated GET /api/files?limit=50: fetches the JWKS,
#                  verifies the RS256 token and signs a DynamoDB Query (answered by the emulator).
# Goal: ferry ≤ 1.5× hello, bootstrap ≤ 15 MB.
#
# Both are built for this machine's target with `cargo build --release` (the same profile; no
# cargo-lambda, no arm64 cross build: bench/lambda-size builds those), so the figures compare the
# two programs, not Lambda's own start-up (fetching the package, starting the micro-VM).
#
#   bench/lambda-coldstart/run.sh
#   BENCH_RUNS=40 bench/lambda-coldstart/run.sh      more runs (default 20 of each)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/lambda-coldstart"
cd "$root"
runs="${BENCH_RUNS:-20}"

command -v openssl >/dev/null || { echo "lambda-coldstart: openssl missing (apt-get install -y openssl)" >&2; exit 1; }
echo "building ferry-api and the hello-world function (release, $(rustc -vV | awk '/^host/ {print $2}'))…" >&2
cargo build --release -p ferry-backend --bin ferry-api >&2
hello_target="$root/target/bench-lambda-hello"
cargo build --release --manifest-path "$here/hello/Cargo.toml" --target-dir "$hello_target" >&2
ferry="$root/target/release/ferry-api"
hello="$hello_target/release/bench-lambda-hello"

tmp="$(mktemp -d /tmp/ferry-coldstart.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
# Lambda runs what the zip holds: measure stripped copies (cargo-lambda strips as well).
for bin in "$ferry" "$hello"; do strip -o "$tmp/$(basename "$bin")" "$bin"; done

echo "cold starts: $runs runs of each, interleaved (load $(cut -d' ' -f1-3 /proc/loadavg))…" >&2
results="$(python3 "$here/emulator.py" "$runs" "$here/events" \
  "hello=$tmp/bench-lambda-hello:health.json" \
  "ferry health=$tmp/ferry-api:health.json" \
  "ferry list=$tmp/ferry-api:list.json")"

python3 - "$results" "$tmp/ferry-api" "$tmp/bench-lambda-hello" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, os, statistics, sys
results, ferry, hello, load = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def q(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]
print(f"cold start, {len(results['hello'])} runs each (ms; load after: {load})")
print(f"{'function':14} {'init med':>9} {'first med':>10} {'first min':>10} {'first p90':>10} {'peak RSS':>10}")
med = {}
for name, runs in results.items():
    first = [r["first_ms"] for r in runs]
    med[name] = statistics.median(first)
    print(f"{name:14} {statistics.median(r['init_ms'] for r in runs):9.1f} {med[name]:10.1f} "
          f"{min(first):10.1f} {q(first, 0.9):10.1f} {max(r['hwm_kib'] for r in runs) / 1024:8.1f} MiB")
size = os.path.getsize(ferry)
print(f"\nbootstrap (stripped): ferry-api {size / 1e6:.1f} MB, hello {os.path.getsize(hello) / 1e6:.1f} MB")
for name in ("ferry health", "ferry list"):
    ratio = med[name] / med["hello"]
    print(f"{name} / hello (median first response): {ratio:.2f}×  (goal ≤ 1.5×) — {'met' if ratio <= 1.5 else 'NOT met'}")
print(f"ferry-api bootstrap ≤ 15 MB: {'met' if size <= 15e6 else 'NOT met'}")
PY

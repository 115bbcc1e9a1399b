#!/usr/bin/env bash
# Builds the Lambda bootstraps for arm64 (cargo-lambda + zig from PyPI, in .tools/venv) and
# prints their sizes. Not run in CI: a cold arm64 release build takes ~12+ minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.tools/venv"
if [ ! -x "$venv/bin/cargo-lambda" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet cargo-lambda ziglang
fi
export PATH="$venv/bin:$PATH"
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
cd "$root"
start=$(date +%s)
cargo lambda build --release --arm64 -p ferry-backend --bin ferry-api --bin ferry-events --bin ferry-live
echo "build: $(( $(date +%s) - start )) s"
for fn in ferry-api ferry-events ferry-live; do
  bootstrap="target/lambda/$fn/bootstrap"
  raw=$(stat -c %s "$bootstrap")
  zipped=$(cd "$(dirname "$bootstrap")" && zip -q -9 - bootstrap | wc -c)
  printf '%-13s bootstrap %6.1f MiB, zipped %6.1f MiB\n' "$fn" \
    "$(echo "$raw / 1048576" | bc -l)" "$(echo "$zipped / 1048576" | bc -l)"
done

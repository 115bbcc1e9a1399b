#!/usr/bin/env bash
# The Lighthouse half of bench/first-load (run.sh --lighthouse starts the stack and calls this):
# Lighthouse 12 (npm, pinned in package.json beside this file) drives Debian's Chromium
# (CHROME_PATH; nothing downloads a browser) with its default mobile settings: a Moto G Power
# sized screen, simulated slow 4G (150 ms round trips, 1.6 Mbit/s) and a 4x slower CPU. For `/`,
# `/s/{token}` and `/files` (signed out: the app's shell and its sign-in redirect) it prints the
# performance score and First/Largest Contentful Paint, Total Blocking Time and Cumulative
# Layout Shift, as medians of BENCH_RUNS runs, the share page against its goal (>= 95), and what
# Lighthouse would still save on each page.
#
#   FERRY_URL=http://127.0.0.1:8080 SHARE_URL=http://127.0.0.1:8080/s/… bench/first-load/lighthouse.sh
#   BENCH_RUNS=5 …             runs per page (default 3; scores move with the machine's load)
#   BENCH_LIGHTHOUSE_DIR=dir … keep every report (JSON) there
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${FERRY_URL:?FERRY_URL is required}" "${SHARE_URL:?SHARE_URL is required}"
runs="${BENCH_RUNS:-3}"
lighthouse="$here/node_modules/.bin/lighthouse"
[[ -x "$lighthouse" ]] || { echo "lighthouse: missing (npm ci --prefix bench/first-load)" >&2; exit 1; }
out="${BENCH_LIGHTHOUSE_DIR:-$(mktemp -d /tmp/ferry-lighthouse.XXXXXX)}"
mkdir -p "$out"
[[ -n "${BENCH_LIGHTHOUSE_DIR:-}" ]] || trap 'rm -rf "$out"' EXIT

pages=("/" "/s/{token}" "/files")
url_of() { if [[ "$1" == "/s/{token}" ]]; then echo "$SHARE_URL"; else echo "$FERRY_URL$1"; fi; }
slug() { case "$1" in /) echo landing ;; /files) echo files ;; *) echo share ;; esac; }

for ((i = 1; i <= runs; i++)); do
  for page in "${pages[@]}"; do
    echo "lighthouse: $page, run $i of $runs…" >&2
    CHROME_PATH=/usr/bin/chromium "$lighthouse" "$(url_of "$page")" --quiet \
      --only-categories=performance --output=json \
      --output-path="$out/$(slug "$page")-$i.json" --max-wait-for-load=45000 \
      --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking --disable-component-update --disable-sync --no-first-run" \
      || { echo "lighthouse failed on $page" >&2; exit 1; }
  done
done

echo
echo "Lighthouse $("$lighthouse" --version) mobile (simulated slow 4G, 4x CPU), median of $runs runs; load $(cut -d' ' -f1-3 /proc/loadavg)"
{
  printf 'page\tperformance\tFCP\tLCP\tTBT\tCLS\truns (score)\tgoal\n'
  for page in "${pages[@]}"; do
    jq -s -r --arg page "$page" '
      def med: sort | .[(length - 1) / 2 | floor];
      def a(k): map(.audits[k].numericValue // 0) | med;
      def s(ms): "\(ms | round) ms";
      (map((.categories.performance.score // 0) * 100 | round)) as $scores
      | [$page, ($scores | med | tostring), s(a("first-contentful-paint")),
         s(a("largest-contentful-paint")), s(a("total-blocking-time")),
         (a("cumulative-layout-shift") * 1000 | round / 1000 | tostring), ($scores | join(", ")),
         (if $page == "/s/{token}" then (if ($scores | med) >= 95 then ">= 95: met" else ">= 95: NOT met" end) else "-" end)]
      | @tsv' "$out/$(slug "$page")"-*.json
  done
} | column -t -s $'\t'

echo
echo "What Lighthouse would still save (last run; opportunities and the LCP element):"
for page in "${pages[@]}"; do
  jq -r --arg page "$page" '
    [ .audits | to_entries[]
      | select(.value.details.type == "opportunity" and (.value.details.overallSavingsMs // 0) >= 10)
      | "\(.value.title) (\(.value.details.overallSavingsMs | round) ms)" ] as $saves
    | (.audits["largest-contentful-paint-element"].details.items[0].items[0].node.snippet
       // .audits["largest-contentful-paint-element"].details.items[0].node.snippet // "?") as $lcp
    | "  \($page): LCP element \($lcp)",
      (if ($saves | length) == 0 then "    nothing over 10 ms" else ($saves[] | "    \(.)") end)' \
    "$out/$(slug "$page")-$runs.json"
done

#!/usr/bin/env bash
# Builds the web site into dist/ with trunk: the app from index.html, the recipients' page
# (/s/{token}) from share.html and the landing page (/) from landing.html, each its own small
# entry (the app crate's `ferry-share` and `ferry-landing` binaries), and the file requests'
# pages (/requests, /r/{token}) from requests.html (`ferry-requests`), into the same dist/
# (hashed names, so the shared stylesheet is one file). Then moves trunk's inline
# boot scripts into files, so the CSP can stay `script-src 'self'`.
#
#     infra/build-site.sh [--release]
#
# `cargo xtask site` runs it (and then writes brotli/gzip twins); deploy-frontend.yml too.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
release=()
if [[ "${1:-}" == "--release" ]]; then
  release=(--release)
fi

trunk build "${release[@]}"
# trunk empties its --dist, so the other entries are built beside and copied in.
stage="$root/target/entry-site"
trunk build share.html --html-output share.html --dist "$stage" "${release[@]}"
cp -R "$stage"/. dist/
trunk build landing.html --html-output landing.html --dist "$stage" "${release[@]}"
cp -R "$stage"/. dist/
trunk build requests.html --html-output requests.html --dist "$stage" "${release[@]}"
cp -R "$stage"/. dist/
rm -rf "$stage"
for page in index share landing requests; do
  python3 infra/externalize-inline-scripts.py "dist/$page.html"
done

#!/usr/bin/env bash
# Build a self-contained Neuroglancer static web app (npm neuroglancer@2.41.2)
# that can be served under any URL prefix (e.g. /neuroglancer/).
#
# Usage: build.sh OUTPUT_DIR [WORK_DIR]
#   OUTPUT_DIR  receives index.html, *.bundle.js, main.bundle.css, *.wasm, ...
#   WORK_DIR    npm work dir (default: <this dir>/.work, recreated each run and
#               removed afterwards unless KEEP_WORKDIR=1)
# Needs: node >= 18 (tested on 20.20.2), npm, access to the npm registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: build.sh OUTPUT_DIR [WORK_DIR]}"
work="${2:-}"
cleanup_work=0
if [ -z "$work" ]; then
  work="$here/.work"
  rm -rf "$work"
  [ "${KEEP_WORKDIR:-0}" = 1 ] || cleanup_work=1
fi
trap '[ "$cleanup_work" = 1 ] && rm -rf "$work"' EXIT

start=$(date +%s.%N)
mkdir -p "$work"
# Pinned manifest + lockfile (neuroglancer 2.41.2, esbuild 0.25.12, and the
# local ikonate stub that replaces the git-only dependency via "overrides").
cp "$here/package.json" "$here/package-lock.json" "$work/"
rm -rf "$work/stub" && cp -r "$here/stub" "$work/stub"

t_install=$(date +%s.%N)
# --ignore-scripts: none of the install scripts (esbuild's binary check,
# core-js banner, msgpackr-extract native addon) are needed for a browser
# bundle; esbuild's platform binary comes from @esbuild/linux-x64.
(cd "$work" && npm install --no-audit --no-fund --ignore-scripts)
t_bundle=$(date +%s.%N)

# Refuse to wipe a non-empty directory that is not a previous build output.
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/BUILD_INFO.json" ]; then
  echo "refusing to overwrite non-empty $out (no BUILD_INFO.json)" >&2; exit 1
fi
rm -rf "$out"
mkdir -p "$out"
node "$here/bundle.mjs" "$work" "$out"
end=$(date +%s.%N)

awk -v a="$t_install" -v b="$t_bundle" -v c="$end" -v s="$start" \
  'BEGIN { printf "npm install: %.1f s, bundle: %.1f s, total: %.1f s\n", b-a, c-b, c-s }'
echo "output: $out ($(du -sb "$out" | cut -f1) bytes, $(ls "$out" | wc -l) files)"

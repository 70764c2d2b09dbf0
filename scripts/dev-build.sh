#!/usr/bin/env bash
# Rebuilds the addon for development without ever rewriting a loaded .node
# in place: napi writes into a scratch folder and the new files are renamed
# into the package root (a rename gives running processes the old inode).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx napi build --platform --release --output-dir "$out" --js binding.js --dts binding.d.ts
for f in "$out"/*.node; do cp "$f" "./.$(basename "$f").tmp" && mv -f "./.$(basename "$f").tmp" "./$(basename "$f")"; done
cp "$out/binding.js" ./binding.js
cp "$out/binding.d.ts" ./binding.d.ts

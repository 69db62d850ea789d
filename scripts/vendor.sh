#!/usr/bin/env bash
# Fetch the pinned browser libraries from the npm registry and copy their single-file builds
# into static/vendor/ (git-ignored). Versions are pinned in frontend/package.json + package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d frontend/node_modules/drawflow ] || [ ! -d frontend/node_modules/htmx.org ]; then
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
fi
mkdir -p static/vendor
cp frontend/node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
cp frontend/node_modules/drawflow/dist/drawflow.min.js static/vendor/drawflow.min.js
cp frontend/node_modules/drawflow/dist/drawflow.min.css static/vendor/drawflow.min.css
echo "vendor: $(ls static/vendor | tr '\n' ' ')"

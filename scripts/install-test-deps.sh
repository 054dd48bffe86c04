#!/usr/bin/env bash
# Installs what the tests need on a Debian machine (run as root), and unpacks the reference
# Courier programs the differential and cross-compatibility tests compare against.
# Shared by the Makefile (make deps) and .ci/run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# One list per area in scripts/packages/*.list (words; '#' starts a comment).
pkgs=$(sed 's/#.*//' "$here"/scripts/packages/*.list | tr -s ' \n' ' ')
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-test-deps: need root to install:$missing (sudo apt-get install -y$missing)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
# Debian's Courier programs, unpacked (not installed) for courier-diff and the cross tests.
ref="$here/../shared/tools/courier-ref"
if [ -x "$ref" ]; then
  "$ref" >/dev/null
  # dpkg -x keeps set-id bits (maildrop is setgid mail); the loader then ignores
  # LD_LIBRARY_PATH and the unpacked program cannot find its libraries.
  refroot="${COURIER_REF_DIR:-/var/tmp/courier-ref}/root"
  [ -d "$refroot" ] && find "$refroot" -type f -perm /6000 -exec chmod ug-s {} +
else
  echo "install-test-deps: $ref not found: the tests that compare with real Courier need ../shared beside the checkout" >&2
  exit 1
fi

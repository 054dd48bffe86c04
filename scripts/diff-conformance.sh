#!/usr/bin/env bash
# Runs every differential scenario (ours in conformance/, the shared examples that our build
# already covers) against real Courier; any difference fails.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/conformance
list=()
for f in conformance/*.sh; do [ -e "$f" ] && list+=("$f"); done
# Shared scenarios whose tools exist in this build (see conformance/SHARED).
if [ -f conformance/SHARED ]; then
  while read -r name; do
    case "$name" in ''|'#'*) continue ;; esac
    list+=("$shared/$name")
  done < conformance/SHARED
fi
if [ ${#list[@]} -eq 0 ]; then
  echo "diff-conformance: no scenarios yet"
  exit 0
fi
python3 ../shared/tools/courier-diff --ours bin/courier "${list[@]}"

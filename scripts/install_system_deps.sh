#!/usr/bin/env bash
# Debian packages the tests need: chromium and a Chinese font (end-to-end browser test), redis-server
# (two-worker test).
set -euo pipefail
need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The HTTP load generator of `policyqa bench --http` (a C client leaves the cores to the server).
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# A Chinese font, so screenshots of the pages show text rather than empty boxes.
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-microhei)
if (( ${#need[@]} )); then
  printf '\n==> installing Debian packages: %s\n' "${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

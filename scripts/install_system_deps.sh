#!/usr/bin/env bash
# Debian packages the tests need: chromium (end-to-end browser test), redis-server (two-worker test),
# wrk (`policyqa bench --http`) and WenQuanYi Micro Hei, a Chinese TrueType font: page screenshots
# show text, and reportlab (PDF tests) can load it. Noto CJK, often installed already, does not do for
# reportlab (PostScript outlines), so the font is installed by package name whatever else is there.
set -euo pipefail
need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The HTTP load generator of `policyqa bench --http` (a C client leaves the cores to the server).
command -v wrk >/dev/null 2>&1 || need+=(wrk)
dpkg-query -W -f='${Status}' fonts-wqy-microhei 2>/dev/null | grep -q 'ok installed' || need+=(fonts-wqy-microhei)
if (( ${#need[@]} )); then
  printf '==> installing Debian packages: %s\n' "${need[*]}" >&2
  SUDO=()
  [[ $(id -u) -eq 0 ]] || SUDO=(sudo)
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

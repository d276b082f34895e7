#!/usr/bin/env bash
# Installs what the end-to-end browser test needs from Debian, only when it is missing:
#   chromium              the headless browser Playwright drives (/usr/bin/chromium; never `playwright install`)
#   fonts-wqy-microhei    a Chinese font, so the test's screenshots show text instead of empty boxes
# Usage: scripts/install_browser.sh        (root, or a user with sudo)
set -euo pipefail

need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
if ! command -v fc-list >/dev/null 2>&1 || [[ -z "$(fc-list :lang=zh 2>/dev/null)" ]]; then
  need+=(fonts-wqy-microhei)
fi

if (( ${#need[@]} )); then
  printf '\n==> installing Debian packages: %s\n' "${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# (the Debian launcher prints a harmless shell warning on some machines; keep only the version line)
/usr/bin/chromium --version >&2 2>/dev/null

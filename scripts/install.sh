#!/usr/bin/env bash
# Installs PolicyQA and what it needs on a fresh machine. Usage: scripts/install.sh [--dev]
#   --dev  also the test tools, Debian's chromium (browser tests) and redis-server (scale-out tests).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

step() { printf '\n==> %s\n' "$*" >&2; }

# torch first, pinned: the CPU build lies on this machine's disk; an unpinned torch would pull CUDA wheels.
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
  step "installing torch 2.13.0 (CPU)"
  "$PYTHON" -m pip install --quiet "torch==2.13.0"
fi

if [[ "${1:-}" == "--dev" ]]; then
  step "installing policyqa with test tools"
  "$PYTHON" -m pip install --quiet -e ".[dev]"
  bash scripts/install_system_deps.sh
else
  step "installing policyqa"
  "$PYTHON" -m pip install --quiet -e .
fi

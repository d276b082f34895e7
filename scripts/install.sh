#!/usr/bin/env bash
# Installs PolicyQA into the project's virtual environment. Usage: scripts/install.sh [--dev]
#   --dev  also the test tools, and the Debian packages the tests need (scripts/install_system_deps.sh).
#
# Environment:
#   PYTHON  base interpreter the environment is made from (default: python3). Works with a Debian or
#           Ubuntu system Python (PEP 668 "externally managed"): nothing is installed into it.
#   VENV    the virtual environment (default: .venv in the repository root).
#
# Everything runs through "$VENV/bin/python -m ...", never through PATH. A second run does nothing
# when pyproject.toml, the mode and the base interpreter are unchanged (a stamp in the environment).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3}
VENV=${VENV:-$ROOT/.venv}
# The CPU build, pinned: PyPI's Linux torch is the CUDA build (several GB). Found on the local wheel
# mirror if the machine has one, else on PyTorch's CPU index.
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0+cpu}
TORCH_INDEX_URL=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
STAMP="$VENV/.policyqa-install"
MODE=base
[[ "${1:-}" == "--dev" ]] && MODE=dev

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $*"
  fi
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages yourself: $*"
  step "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

base_identity() {
  "$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])'
}

venv_works() {
  [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

remove_venv() {
  # Only ever a folder that is a virtual environment.
  if [[ -f "$VENV/pyvenv.cfg" ]]; then rm -rf "$VENV"
  elif [[ -e "$VENV" ]]; then die "$VENV exists and is not a virtual environment; remove it or set VENV"
  fi
}

create_venv() {
  step "creating the virtual environment $VENV (from $PYTHON)"
  if "$PYTHON" -m venv "$VENV" >/dev/null 2>&1 && venv_works; then return; fi
  # Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a separate package.
  remove_venv
  local version
  version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  local packages=(python3-venv)
  if command -v apt-cache >/dev/null 2>&1 && apt-cache show "python${version}-venv" >/dev/null 2>&1; then
    packages+=("python${version}-venv")
  fi
  apt_install "${packages[@]}"
  "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv' failed even with ${packages[*]} installed"
  venv_works || die "the new environment $VENV has no pip"
}

wanted_stamp() {
  # What the environment was installed from: the dependency list, the mode, the base interpreter, torch.
  local digest
  digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
  printf '%s %s %s|%s\n' "$digest" "$1" "$(base_identity)" "$TORCH_SPEC"
}

stamp_satisfies() {
  # A dev install also satisfies a plain one.
  [[ -f "$STAMP" ]] || return 1
  local have
  have=$(cat "$STAMP")
  [[ "$have" == "$(wanted_stamp "$MODE")" || ("$MODE" == base && "$have" == "$(wanted_stamp dev)") ]]
}

installed_imports() {
  # -I: not the working directory (the repository root) but the installed (editable) package.
  local modules="config, uvicorn"
  [[ "$MODE" == dev ]] && modules="$modules, pytest"
  "$VENV/bin/python" -I -c "import $modules" >/dev/null 2>&1
}

# --- the environment -------------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || die "no '$PYTHON' found: install python3 (3.11 or newer) or set PYTHON"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "$PYTHON is Python $("$PYTHON" -c 'import sys; print(sys.version.split()[0])'); PolicyQA needs 3.11 or newer"
if [[ -f "$STAMP" ]] && ! grep -qF " $(base_identity)|" "$STAMP"; then
  step "the base interpreter changed ($(base_identity)); recreating $VENV"
  remove_venv
fi
venv_works || { remove_venv; create_venv; }

if stamp_satisfies && installed_imports; then
  step "policyqa is installed in $VENV (pyproject.toml unchanged)"
else
  PIP=("$VENV/bin/python" -m pip install --quiet)
  if ! "$VENV/bin/python" -I -c "import torch" >/dev/null 2>&1; then
    step "installing torch (CPU build): $TORCH_SPEC"
    "${PIP[@]}" "$TORCH_SPEC" 2>/dev/null || "${PIP[@]}" "$TORCH_SPEC" --index-url "$TORCH_INDEX_URL" ||
      die "could not install $TORCH_SPEC for Python $("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])'):" \
        "neither pip's package index nor $TORCH_INDEX_URL offered it (offline? set TORCH_INDEX_URL to a mirror," \
        "or TORCH_SPEC to a torch wheel file)"
  fi
  if [[ "$MODE" == dev ]]; then
    step "installing policyqa with the test tools"
    "${PIP[@]}" -e ".[dev]"
  else
    step "installing policyqa"
    "${PIP[@]}" -e .
  fi
  wanted_stamp "$MODE" >"$STAMP"
fi

if [[ "$MODE" == dev ]]; then
  bash scripts/install_system_deps.sh
fi

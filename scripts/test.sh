#!/usr/bin/env bash
# Installs everything the tests need, then runs lint, types, the test suite and the evaluation floor.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
PYTHON=${PYTHON:-python3}

printf '\n==> ruff\n' >&2
"$PYTHON" -m ruff check .
printf '\n==> mypy\n' >&2
"$PYTHON" -m mypy corpus index rag api eval policyqa
printf '\n==> pytest\n' >&2
"$PYTHON" -m pytest -q -p no:cacheprovider "$@"

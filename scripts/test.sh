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
printf '\n==> evaluation on the bundled corpus (fails below eval/floor.json)\n' >&2
EVAL_INDEX=$(mktemp -d)/index
"$PYTHON" -m policyqa.cli build --index "$EVAL_INDEX"
"$PYTHON" -m policyqa.cli eval --index "$EVAL_INDEX" --show-failures 10 --check-floor

printf '\n==> pytest\n' >&2
"$PYTHON" -m pytest -q -p no:cacheprovider "$@"

#!/usr/bin/env bash
# Installs everything the tests need (into .venv, plus Debian packages), then runs lint, types, the
# evaluation floor and the test suite. Extra arguments go to pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv}
export VENV
bash scripts/install.sh --dev
PY="$VENV/bin/python"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/policyqa-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

printf '==> ruff\n' >&2
"$PY" -m ruff check .
printf '==> mypy\n' >&2
"$PY" -m mypy config corpus index rag service api eval policyqa bench
printf '==> evaluation on the bundled corpus (fails below eval/floor.json)\n' >&2
"$PY" -m policyqa.cli build --index "$WORK/index"
# No failures listed: they would print test questions, and the test split stays unread.
"$PY" -m policyqa.cli eval --index "$WORK/index" --show-failures 0 --check-floor

printf '==> pytest\n' >&2
"$PY" -m pytest -q -p no:cacheprovider "$@"

#!/usr/bin/env bash
# The main job: install into .venv, build the index if it is missing or the corpus changed, serve the chat
# on http://127.0.0.1:${PORT:-8000}/. Extra arguments go to `policyqa serve` (e.g. --workers 2, --no-build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv}
export VENV
bash scripts/install.sh
exec "$VENV/bin/python" -m policyqa.cli serve --host 127.0.0.1 --port "${PORT:-8000}" "$@"

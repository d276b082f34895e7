#!/usr/bin/env bash
# The main job: install, build the index if it is missing, serve the chat on http://127.0.0.1:8000/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec policyqa serve --host 127.0.0.1 --port "${PORT:-8000}" "$@"

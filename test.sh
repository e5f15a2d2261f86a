#!/usr/bin/env bash
# One command for a fresh machine: install into .venv/ (and Chromium for the browser tests), run the tests.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
scripts/browser.sh
echo "==> ruff check, ruff format --check, mypy (rag/)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"

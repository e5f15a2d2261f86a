#!/usr/bin/env bash
# One command for a fresh machine: install into .venv/ (and Chromium for the browser tests), run the tests.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
scripts/browser.sh
exec .venv/bin/python -m pytest "$@"

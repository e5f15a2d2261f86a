#!/usr/bin/env bash
# One command for a fresh machine: install into .venv/, index seeds/, start the chat UI.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
echo "==> bringing the index in line with ${KUTIP_CORPUS_DIR:-seeds/} (unchanged articles are skipped, removed files leave the index)"
.venv/bin/kutip ingest || echo "(some files were skipped; see above)"
echo "==> starting the UI (Ctrl-C to stop). From Python: .venv/bin/python -c 'from rag import ask; print(ask(\"...\").text)'"
exec .venv/bin/kutip ui "$@"

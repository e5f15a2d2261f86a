#!/usr/bin/env bash
# Debian's Chromium for the real-browser UI tests (Playwright's own browser download cannot work offline).
# One line per step; apt's own output goes to a log file, whose last lines are shown if a step fails.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: chromium is not installed and this user cannot apt-get it; browser tests will be skipped" >&2
  exit 0
fi

log=$(mktemp "${TMPDIR:-/tmp}/kutip-chromium.XXXXXX.log")
# step TEXT CMD...: prints "    TEXT ..." and then "done (Ns)" on the same line, or, if CMD fails,
# the last 30 lines of the log and its path, and exits.
step() {
  local text=$1 rc=0
  shift
  printf '    %s ... ' "$text"
  SECONDS=0
  "$@" >>"$log" 2>&1 </dev/null || rc=$?
  if [ "$rc" = 0 ]; then
    echo "done (${SECONDS}s)"
  else
    echo "failed"
    { echo "'$*' exited with $rc. Last 30 lines of $log:"; tail -n 30 "$log"; echo "(full log: $log)"; } >&2
    exit 1
  fi
}

echo "==> installing Debian's chromium for the browser tests (apt output: $log)"
export DEBIAN_FRONTEND=noninteractive
step "updating the package lists" apt-get update
step "installing chromium" apt-get install -y chromium
command -v chromium >/dev/null 2>&1 || {
  echo "apt-get installed chromium but there is no 'chromium' command; see $log" >&2; exit 1; }

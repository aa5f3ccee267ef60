#!/usr/bin/env bash
# Sanitizer check: builds the extension with AddressSanitizer and UndefinedBehaviorSanitizer
# (RelWithDebInfo) into its own build folder, puts it beside a copy of the Python package
# in a scratch folder (the in-place and installed modules are left alone), and runs the
# kernel tests, which include a seeded fuzz of every binding, under it. Any sanitizer
# report stops the process with a non-zero status, so the run fails.
#
#   bash tools/sanitize.sh                       # kernel tests + binding fuzz
#   bash tools/sanitize.sh tests/kernels/test_pool.py -k hostile   # any pytest arguments
#
# Needs gcc (or clang) with the sanitizer runtimes (libasan, libubsan) and the test
# requirements (pytest, hypothesis). Python itself is not instrumented, so the ASan
# runtime is preloaded; leak checking is off (the interpreter keeps memory until exit).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CUNN_SANITIZE_BUILD_DIR:-build/sanitize}
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" \
  -DPython_EXECUTABLE="$(command -v python3)" ${CUNN_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "${CUNN_BUILD_JOBS:-2}"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -r cunn "$scratch/cunn"
rm -f "$scratch"/cunn/_C*.so
cp "$build"/_C*.so "$scratch/cunn/"

asan_runtime="$(${CXX:-c++} -print-file-name=libasan.so)"
if [ ! -e "$asan_runtime" ]; then
  echo "sanitize.sh: the compiler has no ASan runtime (libasan.so)" >&2
  exit 1
fi
# pytest runs from the scratch folder, so that `import cunn` finds the sanitized copy
# rather than the source tree; test paths are made absolute for it.
repo="$(pwd)"
if [ "$#" -eq 0 ]; then
  set -- tests/kernels
fi
arguments=()
for argument in "$@"; do
  if [ -e "$argument" ]; then arguments+=("$repo/$argument"); else arguments+=("$argument"); fi
done
cd "$scratch"
# libstdc++ is preloaded too: ASan finds the real __cxa_throw only in a library loaded
# before it intercepts (else the first C++ exception aborts the process).
cxx_runtime="$(${CXX:-c++} -print-file-name=libstdc++.so)"
export LD_PRELOAD="$asan_runtime $cxx_runtime" PYTHONPATH="$scratch"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
python3 -c 'import sys, cunn; assert cunn.__file__.startswith(sys.argv[1]), cunn.__file__' \
  "$scratch"
python3 -m pytest -q -p no:cacheprovider --capture=sys --rootdir="$repo" "${arguments[@]}"

#!/usr/bin/env bash
# Developer loop without pip: builds cunn/_C*.so in place so that
# `PYTHONPATH=. python -m pytest` tests this tree. Incremental after the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CUNN_BUILD_DIR:-build/inplace}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" \
  -DPython_EXECUTABLE="$(command -v python3)" ${CUNN_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "${CUNN_BUILD_JOBS:-2}"
# Copy then rename: a process that has the old module loaded keeps its mapping intact.
for module in "$build"/_C*.so; do
  cp "$module" "cunn/.$(basename "$module").tmp"
  mv -f "cunn/.$(basename "$module").tmp" "cunn/$(basename "$module")"
done

#!/usr/bin/env bash
# Builds cunn_cuda_emulated (the _C.cuda functions over the CPU emulation) into $1
# (default build/cuda_emulator). Needs g++ with C++20 and pybind11; no CUDA toolkit.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tools/cuda_emulator"
out=$(mkdir -p "${1:-$root/build/cuda_emulator}" && cd "${1:-$root/build/cuda_emulator}" && pwd)
rm -rf "$out/src" "$out/obj"
mkdir -p "$out/src/cuda" "$out/obj"
cp "$root"/csrc/cuda/*.h "$root"/csrc/cuda/*.cuh "$out/src/cuda/"
for file in "$root"/csrc/cuda/*.cu; do
  python3 "$here/convert_launches.py" "$file" "$out/src/cuda/$(basename "${file%.cu}").cpp"
done
flags="-std=c++20 -O1 -ffp-contract=off -fPIC -w -I$here -I$out/src -I$root/csrc $(python3 -m pybind11 --includes)"
sources=("$here/emulator.cpp" "$here/module.cpp" "$out"/src/cuda/*.cpp)
for file in "$root"/csrc/bindings/bind_cuda_*.cpp; do
  [[ "$file" == *bind_cuda_stub.cpp ]] || sources+=("$file")
done
for file in "${sources[@]}"; do
  g++ $flags -c "$file" -o "$out/obj/$(basename "$file").o" &
  while [ "$(jobs -r | wc -l)" -ge "${CUNN_BUILD_JOBS:-2}" ]; do wait -n; done
done
wait
suffix=$(python3-config --extension-suffix)
g++ -shared -o "$out/cunn_cuda_emulated$suffix" "$out"/obj/*.o -lpthread
echo "$out"

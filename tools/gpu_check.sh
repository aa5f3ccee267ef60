#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds cunn's CUDA variant into a fresh virtual
# environment (for the present GPU's architecture only, for speed), runs tests/cuda and
# tests/cuda_simulated, trains the MNIST MLP and CNN on the GPU for one epoch
# (benchmarks/cuda_mnist.py, PyTorch on the same GPU too when torch with CUDA is installed),
# and prints ONE summary line at the end. Each stage is time-boxed so the whole run stays
# under 8 minutes.
#
#   bash tools/gpu_check.sh            # exit status 0 only when every stage passed
#
# Environment: CUNN_DATA (a folder with mnist/; generated digits otherwise), GPU_CHECK_DIR
# (where the venv and logs go; a new temporary folder by default), GPU_CHECK_BUILD_SECONDS
# (300) for a slow machine. A rerun in the same checkout rebuilds incrementally
# (build/gpu-check).
# The venv sees the system's packages and pip builds without isolation, so a machine without
# network access builds from what is installed (scikit-build-core, pybind11, cmake, ninja,
# numpy, pytest); where pip cannot build, the extension is built in place with cmake.
set -uo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
build_limit=${GPU_CHECK_BUILD_SECONDS:-300}
work=${GPU_CHECK_DIR:-$(mktemp -d -t cunn-gpu-check.XXXXXX)}
mkdir -p "$work"
summary() {  # the one line, then the exit status
  echo "gpu_check: $1 | $(( SECONDS - started )) s | logs in $work"
  exit "$2"
}

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi >/dev/null 2>&1; then
  summary "FAIL: no NVIDIA GPU here (nvidia-smi missing or failing)" 2
fi
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d ' .')
[ -n "$arch" ] || arch=native
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
command -v nvcc >/dev/null 2>&1 || summary "FAIL: $gpu but no nvcc (install a CUDA toolkit)" 2

# ---- stage 1: build (5 minutes at most) ----
python3 -m venv --system-site-packages "$work/venv" || summary "FAIL: cannot make a venv" 2
. "$work/venv/bin/activate"
# The build tools, where an index is reachable (fails fast, and harmlessly, offline).
timeout 60 python -m pip install --quiet --retries 0 --timeout 5 scikit-build-core pybind11 \
  cmake ninja >"$work/build.log" 2>&1 || true
build=pip
if ! timeout "$build_limit" python -m pip install --no-build-isolation -v ".[test]" \
    -Ccmake.define.CUNN_CUDA=ON -Ccmake.define.CMAKE_CUDA_ARCHITECTURES="$arch" \
    -Cbuild-dir=build/gpu-check >>"$work/build.log" 2>&1; then
  # No network or no scikit-build-core: build the module in place instead.
  build=inplace
  remaining=$(( build_limit - (SECONDS - started) ))
  [ "$remaining" -gt 30 ] || summary "FAIL: build (pip) ran out of time, see build.log" 1
  CUNN_BUILD_DIR=build/gpu-check-inplace CUNN_BUILD_JOBS="$(nproc)" \
    CUNN_CMAKE_ARGS="-DCUNN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$arch" \
    timeout "$remaining" bash tools/build_inplace.sh >>"$work/build.log" 2>&1 \
    || summary "FAIL: build (pip and in place), see $work/build.log" 1
  export PYTHONPATH="$PWD"
fi
build_seconds=$(( SECONDS - started ))
probe=$(cd "$work" && python -c "import cunn
from cunn import _C
print(_C.cuda_built(), _C.cuda_device_count(), cunn.available_backends())" 2>&1 | tail -n 1)
case "$probe" in
  True\ 0*|False*) summary "FAIL: built ($build) but $probe (cuda_built, devices, backends)" 1 ;;
  True*) ;;
  *) summary "FAIL: the built module does not import: $probe" 1 ;;
esac

# ---- stage 2: tests (2 minutes at most) ----
# After pip, from a scratch copy of the tests beside the examples (the example tests run
# examples/), so that the installed package is imported, not the source tree.
suite=$PWD
if [ "$build" = pip ]; then
  suite="$work/suite"
  mkdir -p "$suite" && cp -r tests examples pyproject.toml "$suite"/
fi
(cd "$suite" && PYTHONPATH="$suite" timeout 120 python -m pytest tests/cuda tests/cuda_simulated \
  -q -p no:cacheprovider) >"$work/tests.log" 2>&1
tests_status=$?
tests_line=$(grep -E '(passed|failed|error|skipped)' "$work/tests.log" | tail -n 1)
[ "$tests_status" = 124 ] && tests_line="timed out after 120 s ($tests_line)"

# ---- stage 3: MNIST MLP and CNN on the GPU (what is left of 7.5 minutes) ----
remaining=$(( build_limit + 150 - (SECONDS - started) ))
bench_line="not run (no time left)"
bench_status=1
if [ "$remaining" -gt 20 ]; then
  steps=()  # a full epoch, unless the build and tests left little time
  [ "$remaining" -gt 150 ] || steps=(--max-steps 300)
  timeout "$remaining" python benchmarks/cuda_mnist.py --device cuda ${steps[@]+"${steps[@]}"} \
    --json "$work/cuda_mnist.json" >"$work/bench.log" 2>&1
  bench_status=$?
  bench_line=$(grep '^summary:' "$work/bench.log" | tail -n 1 | sed 's/^summary: //')
  [ -n "$bench_line" ] || bench_line="failed (status $bench_status), see bench.log"
  [ "$bench_status" = 124 ] && bench_line="timed out after $remaining s ($bench_line)"
fi

verdict=PASS
{ [ "$tests_status" = 0 ] && [ "$bench_status" = 0 ]; } || verdict=FAIL
summary "$verdict: $gpu sm_$arch | build $build ${build_seconds} s | tests: $tests_line | $bench_line" \
  "$([ "$verdict" = PASS ] && echo 0 || echo 1)"

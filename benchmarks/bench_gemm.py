"""GEMM throughput: cunn's compiled sgemm against NumPy's matmul (its BLAS, OpenBLAS in wheels).

    PYTHONPATH=. python3 benchmarks/bench_gemm.py [--repeats 31] [--threads 1 2]

Shapes: 512^3 and the MNIST MLP products (784-128-10, batch 64 and 1024): layer-1 forward
X @ W1.T, its backward dX = gY @ W1 and dW1 = gY.T @ X, and the layer-2 forward H @ W2.T.
Both sides are called the way the library calls them (a new output array each time, transposes
passed as flags / views, no copies).

Thread counts: a BLAS reads its thread count once, when it starts, so each thread count runs in
its own child process started with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS set,
where cunn gets the same count through cunn._C.set_num_threads. This needs no threadpoolctl and
works whatever BLAS NumPy was built with.

Statistics: within a child, cunn and NumPy samples alternate, each sample timing enough calls to
last about 5 ms after one untimed call (which wakes that library's worker threads: they sleep
while the other library's pool runs, and waking them on a busy machine can take milliseconds). The GFLOP/s columns are the medians of each side's samples; the ratio is the
median of the per-pair ratios (each cunn sample against the NumPy sample right after it). On a
shared VM whole stretches of tens of milliseconds run at a third of the speed (seen as bimodal
samples); a pair almost always falls in one stretch, so the paired ratio stays stable even when
one side's median happens to land among the slow samples.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (label, M, N, K, trans_a, trans_b)
SHAPES = [
    ("square 512", 512, 512, 512, False, False),
    ("L1 fwd  X.W1T  b64", 64, 128, 784, False, True),
    ("L1 dX   gY.W1  b64", 64, 784, 128, False, False),
    ("L1 dW   gYT.X  b64", 128, 784, 64, True, False),
    ("L2 fwd  H.W2T  b64", 64, 10, 128, False, True),
    ("L1 fwd  X.W1T  b1024", 1024, 128, 784, False, True),
    ("L1 dX   gY.W1  b1024", 1024, 784, 128, False, False),
    ("L1 dW   gYT.X  b1024", 128, 784, 1024, True, False),
    ("L2 fwd  H.W2T  b1024", 1024, 10, 128, False, True),
]
TARGET = 0.8


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def seconds_per_call(function, calls):
    # One untimed call first: it wakes the library's worker threads, which sleep while
    # the other library runs (two thread pools share the cores), so the timed calls
    # see the steady state a training loop sees.
    function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def worker(threads, repeats):
    import numpy as np

    sys.path.insert(0, ROOT)
    import importlib

    from cunn import _C

    cpu = importlib.import_module("cunn.backends.cpu.gemm")
    _C.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rows = []
    for label, m, n, k, trans_a, trans_b in SHAPES:
        a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
        op_a = a.T if trans_a else a
        op_b = b.T if trans_b else b

        def run_cunn():
            cpu.gemm(a, b, trans_a, trans_b)

        def run_numpy():
            np.matmul(op_a, op_b)

        for function in (run_cunn, run_numpy):  # warm caches, thread pools, page faults
            seconds_per_call(function, 3)
        calls = max(1, int(5e-3 / seconds_per_call(run_numpy, 5)))
        cunn_times, numpy_times = [], []
        for _ in range(repeats):
            cunn_times.append(seconds_per_call(run_cunn, calls))
            numpy_times.append(seconds_per_call(run_numpy, calls))
        cunn_times, numpy_times = np.array(cunn_times), np.array(numpy_times)
        flops = 2.0 * m * n * k
        rows.append(dict(label=label, shape=f"{m}x{n}x{k}",
                         trans=("T" if trans_a else "N") + ("T" if trans_b else "N"),
                         threads=threads,
                         cunn=flops / float(np.median(cunn_times)) / 1e9,
                         numpy=flops / float(np.median(numpy_times)) / 1e9,
                         ratio=float(np.median(numpy_times / cunn_times))))
    return dict(isa=_C.isa(), numpy=np.__version__, rows=rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=41, help="alternating samples per shape")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.repeats)))
        return

    results = []
    for threads in args.threads:
        environment = dict(os.environ)
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            environment[name] = str(threads)
        output = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--worker", str(threads),
             "--repeats", str(args.repeats)],
            env=environment, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))

    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs visible)")
    print(f"cunn ISA: {results[0]['isa']}   numpy {results[0]['numpy']}   "
          f"medians of {args.repeats} alternating samples; ratio = median of paired "
          f"ratios; target >= {TARGET}")
    header = (f"{'product':22} {'M x N x K':>14} {'op':>3} {'thr':>3} {'cunn GF/s':>10} "
              f"{'numpy GF/s':>11} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    rows = [row for result in results for row in result["rows"]]
    rows.sort(key=lambda row: ([s[0] for s in SHAPES].index(row["label"]), row["threads"]))
    below = 0
    for row in rows:
        flag = "" if row["ratio"] >= TARGET else "  < target"
        below += row["ratio"] < TARGET
        print(f"{row['label']:22} {row['shape']:>14} {row['trans']:>3} {row['threads']:>3} "
              f"{row['cunn']:10.1f} {row['numpy']:11.1f} {row['ratio']:6.2f}{flag}")
    print(f"{len(rows) - below} of {len(rows)} rows at or above {TARGET} of NumPy")


if __name__ == "__main__":
    main()

"""GEMM throughput: cunn's compiled sgemm against NumPy's matmul (its BLAS, OpenBLAS in wheels).

    PYTHONPATH=. python3 benchmarks/bench_gemm.py [--rounds 9] [--samples 7] [--threads 1 2]

Shapes: 512^3 and the MNIST MLP products (784-128-10, batch 64 and 1024): layer-1 forward
X @ W1.T, its backward dX = gY @ W1 and dW1 = gY.T @ X, and the layer-2 forward H @ W2.T.
Both sides are called the way the library calls them (a new output array each time, transposes
passed as flags / views, no copies).

Thread counts: a BLAS reads its thread count once, when it starts, so each thread count runs in
its own child process started with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS set,
where cunn gets the same count through cunn._C.set_num_threads. This needs no threadpoolctl and
works whatever BLAS NumPy was built with.

Statistics: within a child, cunn and NumPy run in alternating rounds. Each round lets the
other library's worker threads go idle first (OpenBLAS's keep spinning for about 0.1 s after a
call, and a spinning pool steals a core from the one being timed, so finer alternation measures
the interference between the two pools rather than either library), makes one untimed call to
wake its own pool, then times a few samples of about 3 ms each. The GFLOP/s columns are the
medians of all of a side's samples; the ratio is the median over rounds of the per-round ratio of
medians, which stays stable when other processes load the machine in bursts (on a shared VM
whole stretches run at a third of the speed).
"""
import argparse
import os
import sys

from _harness import (IDLE_SECONDS, ROOT, cpu_model, seconds_per_call,
                      timed_round, worker_results)

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


def worker(threads, rounds, samples):
    import numpy as np

    sys.path.insert(0, ROOT)
    import importlib

    from cunn import _C

    cpu = importlib.import_module("cunn._backends.cpu.gemm")
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
        calls = max(1, int(3e-3 / seconds_per_call(run_numpy, 5)))
        cunn_rounds, numpy_rounds = [], []
        for _ in range(rounds):
            cunn_rounds.append(timed_round(run_cunn, calls, samples, IDLE_SECONDS))
            numpy_rounds.append(timed_round(run_numpy, calls, samples, IDLE_SECONDS))
        flops = 2.0 * m * n * k
        round_ratios = [np.median(numpy_times) / np.median(cunn_times)
                        for cunn_times, numpy_times in zip(cunn_rounds, numpy_rounds)]
        rows.append(dict(label=label, shape=f"{m}x{n}x{k}",
                         trans=("T" if trans_a else "N") + ("T" if trans_b else "N"),
                         threads=threads,
                         cunn=flops / float(np.median(cunn_rounds)) / 1e9,
                         numpy=flops / float(np.median(numpy_rounds)) / 1e9,
                         ratio=float(np.median(round_ratios))))
    return dict(isa=_C.isa(), numpy=np.__version__, rows=rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds per shape")
    parser.add_argument("--samples", type=int, default=7, help="timed samples per round")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    results = worker_results(__file__, worker, args.threads, args.rounds, args.samples)
    if results is None:
        return

    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs visible)")
    print(f"cunn ISA: {results[0]['isa']}   numpy {results[0]['numpy']}   "
          f"{args.rounds} alternating rounds of {args.samples} samples; GF/s: medians; "
          f"ratio: median of per-round ratios; target >= {TARGET}")
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

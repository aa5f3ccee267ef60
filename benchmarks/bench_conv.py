"""conv2d and max_pool2d: cunn's compiled kernels against the NumPy reference, MNIST CNN shapes.

    PYTHONPATH=. python3 benchmarks/bench_conv.py [--rounds 7] [--samples 5] [--threads 1 2]

Shapes (batch 64, as in the MNIST CNN): conv1 = Conv2d(1, 32, 3, padding=1) on 28x28 and
conv2 = Conv2d(32, 64, 3, padding=1) on 14x14, each forward / backward_input /
backward_weight (conv1's input gradient is never needed in training, but it is timed), and
MaxPool2d(2) after each (64x32x28x28 and 64x64x14x14), forward / backward. Both sides are
called through the backend modules, as the library calls them.

Method (_harness.py, as bench_gemm.py): each thread count runs in its own child process started
with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS set (a BLAS reads its count once,
when it starts), where cunn gets the same count through cunn._backends.cpu.set_num_threads.
Within a child, cunn and the reference run in alternating rounds with an idle gap first (so one
library's spinning pool does not steal the core the other is timed on); times are medians of
all samples, the ratio (reference time / cunn time) is the median of the per-round ratios,
which stays stable on a shared machine that slows down in bursts. "others" is the share of the
CPUs other processes used while a row ran; above 5% the row is flagged. The "training step"
line adds what one training step calls: both forwards, conv1's weight gradient, conv2's input
and weight gradients, both pool forwards and backwards.
"""
import argparse
import os
import statistics
import sys

from _harness import (ROOT, OthersMeter, cpu_model, seconds_per_call,
                      timed_round, worker_results)

SAMPLE_SECONDS = 5e-3
BATCH = 64
# Warn when other processes used more than this share of the CPUs during a row.
BUSY_WARNING = 0.05
# (label, C, H, O): 3x3 kernels, stride 1, padding 1.
CONVS = [("conv1", 1, 28, 32), ("conv2", 32, 14, 64)]
# (label, C, H): 2x2 windows, stride 2.
POOLS = [("pool1", 32, 28), ("pool2", 64, 14)]
# Which rows one training step runs (conv1's input gradient is not needed).
STEP = {"conv1 forward", "conv1 backward_weight", "conv2 forward", "conv2 backward_input",
        "conv2 backward_weight", "pool1 forward", "pool1 backward", "pool2 forward",
        "pool2 backward"}


def cases(np, cpu, ref):
    """(label, cunn call, reference call) for every timed kernel."""
    rng = np.random.default_rng(0)
    result = []
    for label, channels, size, out_channels in CONVS:
        x = rng.standard_normal((BATCH, channels, size, size)).astype(np.float32)
        weight = rng.standard_normal((out_channels, channels, 3, 3)).astype(np.float32)
        bias = rng.standard_normal(out_channels).astype(np.float32)
        grad = rng.standard_normal((BATCH, out_channels, size, size)).astype(np.float32)
        for name, call in [
            ("forward", lambda b, x=x, w=weight, c=bias: b.conv2d_forward(x, w, c, (1, 1), (1, 1))),
            ("backward_input", lambda b, g=grad, w=weight, s=x.shape:
                b.conv2d_backward_input(g, w, s, (1, 1), (1, 1))),
            ("backward_weight", lambda b, g=grad, x=x, s=weight.shape:
                b.conv2d_backward_weight(g, x, s, (1, 1), (1, 1))),
        ]:
            result.append((f"{label} {name}", lambda call=call: call(cpu),
                           lambda call=call: call(ref)))
    for label, channels, size in POOLS:
        x = rng.standard_normal((BATCH, channels, size, size)).astype(np.float32)
        out, indices = cpu.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
        grad = rng.standard_normal(out.shape).astype(np.float32)
        result.append((f"{label} forward",
                       lambda x=x: cpu.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0)),
                       lambda x=x: ref.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))))
        result.append((f"{label} backward",
                       lambda g=grad, i=indices, s=x.shape: cpu.max_pool2d_backward(g, i, s),
                       lambda g=grad, i=indices, s=x.shape: ref.max_pool2d_backward(g, i, s)))
    return result


def worker(threads, rounds, samples):
    sys.path.insert(0, ROOT)
    import numpy as np

    from cunn import _C
    from cunn._backends import get

    cpu, ref = get("cpu"), get("numpy")
    cpu.set_num_threads(threads)
    rows = []
    for label, run_cunn, run_ref in cases(np, cpu, ref):
        for function in (run_cunn, run_ref):  # warm caches, thread pools, page faults
            seconds_per_call(function, 2)
        cunn_calls = max(1, int(SAMPLE_SECONDS / seconds_per_call(run_cunn, 3)))
        ref_calls = max(1, int(SAMPLE_SECONDS / seconds_per_call(run_ref, 2)))
        cunn_rounds, ref_rounds = [], []
        with OthersMeter() as others:
            for _ in range(rounds):
                cunn_rounds.append(timed_round(run_cunn, cunn_calls, samples))
                ref_rounds.append(timed_round(run_ref, ref_calls, samples))
        ratios = [statistics.median(r) / statistics.median(c)
                  for c, r in zip(cunn_rounds, ref_rounds)]
        rows.append(dict(label=label, threads=threads,
                         cunn=statistics.median([t for r in cunn_rounds for t in r]),
                         ref=statistics.median([t for r in ref_rounds for t in r]),
                         ratio=statistics.median(ratios), others=others.fraction))
    return dict(isa=_C.isa(), numpy=np.__version__, rows=rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per kernel")
    parser.add_argument("--samples", type=int, default=5, help="timed samples per round")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    results = worker_results(__file__, worker, args.threads, args.rounds, args.samples)
    if results is None:
        return

    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs visible)")
    print(f"cunn ISA: {results[0]['isa']}   numpy {results[0]['numpy']}   batch {BATCH}   "
          f"{args.rounds} alternating rounds of {args.samples} samples; times: medians; "
          f"ratio = reference / cunn, median of per-round ratios; others = the CPU share other "
          f"processes took meanwhile")
    header = (f"{'kernel':24} {'thr':>3} {'cunn ms':>9} {'numpy_ref ms':>13} {'ratio':>7} "
              f"{'others':>7}")
    print(header)
    print("-" * len(header))
    for result in results:
        step_cunn = step_ref = 0.0
        for row in result["rows"]:
            others = row["others"]
            flag = "  busy machine" if others is not None and others > BUSY_WARNING else ""
            share = "n/a" if others is None else f"{others:.0%}"
            print(f"{row['label']:24} {row['threads']:>3} {row['cunn'] * 1e3:9.3f} "
                  f"{row['ref'] * 1e3:13.3f} {row['ratio']:7.1f} {share:>7}{flag}")
            if row["label"] in STEP:
                step_cunn += row["cunn"]
                step_ref += row["ref"]
        threads = result["rows"][0]["threads"]
        print(f"{'training step (sum)':24} {threads:>3} {step_cunn * 1e3:9.3f} "
              f"{step_ref * 1e3:13.3f} {step_ref / step_cunn:7.1f}")
        print("-" * len(header))


if __name__ == "__main__":
    main()

"""Where one training step's time goes: Python (Tensor, autograd, nn, optim) vs kernels.

    PYTHONPATH=. python3 benchmarks/step_breakdown.py [--steps 2000] [--threads 2]
        [--batch-size 64] [--backend cpu] [--model mlp|cnn] [--cpu-time]

Trains the 784-128-10 MLP, or with --model cnn the MNIST CNN of benchmarks/run.py (Adam,
cross-entropy) on random data and times every call into the backend module by wrapping its
functions, so the kernel share is measured directly and the rest of the step is the Python
layer; each kernel's share is printed too. Also prints the per-op overhead of a tiny op (two
1-element tensors added) next to the bare kernel call. Medians of repeated blocks; the
wrapping adds about 0.2 us per kernel call, which is charged to the kernels. --cpu-time
reads the calling thread's CPU clock instead of the wall clock: on a machine shared with
other busy processes that is the steadier figure at one thread (at more threads it misses
the workers' time).
"""
import argparse
import statistics
import time

import numpy as np

import cunn
import cunn.nn as nn
import cunn.optim as optim
from cunn._backends import get as get_backend


def time_per_call(function, calls):
    started = clock()
    for _ in range(calls):
        function()
    return (clock() - started) / calls


def tiny_op_overhead(repeats=7, calls=20000):
    a, b = cunn.tensor([1.0]), cunn.tensor([2.0])
    kernel = get_backend("cpu").add
    time_per_call(lambda: a + b, calls)
    op = statistics.median(time_per_call(lambda: a + b, calls) for _ in range(repeats))
    bare = statistics.median(time_per_call(lambda: kernel(a._data, b._data), calls)
                             for _ in range(repeats))
    return op, bare


clock = time.perf_counter


class KernelClock:
    """Wraps every public function of a backend module and sums the seconds spent in them,
    in all and per function."""

    def __init__(self, module):
        self.module = module
        self.seconds = 0.0
        self.calls = 0
        self.per_kernel = {}  # name -> [seconds, calls]
        self.originals = {}

    def __enter__(self):
        for name in dir(self.module):
            function = getattr(self.module, name)
            if name.startswith("_") or not callable(function) or isinstance(function, type):
                continue
            self.originals[name] = function
            setattr(self.module, name, self._timed(function))
        return self

    def _timed(self, function):
        totals = self.per_kernel.setdefault(function.__name__, [0.0, 0])

        def timed(*args, **kwargs):
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                spent = clock() - started
                self.seconds += spent
                self.calls += 1
                totals[0] += spent
                totals[1] += 1
        return timed

    def __exit__(self, *exc_info):
        for name, function in self.originals.items():
            setattr(self.module, name, function)


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--steps", type=int, default=2000)
    options.add_argument("--blocks", type=int, default=5, help="repeated blocks for the median")
    options.add_argument("--threads", type=int, default=None)
    options.add_argument("--batch-size", type=int, default=64)
    options.add_argument("--backend", default="cpu", choices=("cpu", "numpy"))
    options.add_argument("--model", default="mlp", choices=("mlp", "cnn"))
    options.add_argument("--cpu-time", action="store_true",
                         help="the calling thread's CPU time instead of wall time")
    args = options.parse_args()
    if args.cpu_time:
        global clock
        clock = time.thread_time
    if args.threads:
        cunn.set_num_threads(args.threads)
    cunn.use_backend(args.backend)
    cunn.manual_seed(0)

    if args.model == "cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
        shape, title = (args.batch_size, 1, 28, 28), "CNN conv32-conv64-fc128 + Adam"
    else:
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        shape, title = (args.batch_size, 784), "MLP 784-128-10 + Adam"
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    inputs = cunn.tensor(rng.standard_normal(shape).astype(np.float32))
    labels = cunn.tensor(rng.integers(0, 10, args.batch_size))

    def step():
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    per_block = max(args.steps // args.blocks, 1)
    time_per_call(step, 100)  # warm-up
    totals, kernels, calls = [], [], 0
    per_kernel = {}
    backend = get_backend(args.backend)
    for _ in range(args.blocks):
        totals.append(time_per_call(step, per_block))
        with KernelClock(backend) as kernel_clock:
            time_per_call(step, per_block)
        kernels.append(kernel_clock.seconds / per_block)
        calls = kernel_clock.calls // per_block
        for name, (seconds, count) in kernel_clock.per_kernel.items():
            if count:
                per_kernel.setdefault(name, []).append((seconds / per_block, count // per_block))
    total, kernel = statistics.median(totals), statistics.median(kernels)
    op, bare = tiny_op_overhead()
    print(f"cunn {cunn.__version__}  backend {args.backend}  threads {cunn.get_num_threads()}  "
          f"batch {args.batch_size}")
    print(f"{title}, one step: {total * 1e6:8.1f} us  "
          f"(epoch of 938 steps ~ {total * 938:.2f} s){' (CPU time)' if args.cpu_time else ''}")
    print(f"  kernels ({calls} calls):        {kernel * 1e6:8.1f} us  ({100 * kernel / total:.0f}%)")
    rows = sorted(((statistics.median(s for s, _ in samples), samples[0][1], name)
                   for name, samples in per_kernel.items()), reverse=True)
    for seconds, count, name in rows:
        print(f"    {name:34s} {count:3d} calls {seconds * 1e6:9.1f} us  "
              f"({100 * seconds / total:.0f}%)")
    print(f"  Python (Tensor/autograd/nn/optim): {(total - kernel) * 1e6:6.1f} us  "
          f"({100 * (total - kernel) / total:.0f}%)")
    print(f"tiny op (1-element add): {op * 1e6:.2f} us per op; bare kernel call {bare * 1e6:.2f} us; "
          f"Python overhead {(op - bare) * 1e6:.2f} us")


if __name__ == "__main__":
    main()

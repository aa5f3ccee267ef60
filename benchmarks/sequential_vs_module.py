"""What the Linear/ReLU fusion of nn.Sequential is worth: one training step of the 784-128-10
MLP (Adam, cross-entropy, batch 64) as an nn.Sequential against the same network as
examples/mnist_mlp.py writes it: a custom Module that calls its layers one by one
(``fc2(relu(fc1(flatten(x, 1))))``).

    PYTHONPATH=. python3 benchmarks/sequential_vs_module.py [--rounds 30] [--steps 300]
        [--threads 2]

Both models live in one process and train in alternating rounds on the same generated
batches (values do not change the dense kernels' time), so both see the same machine; prints
the median step of each and the median over rounds of their ratio.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

import cunn
import cunn.nn as nn
import cunn.optim as optim

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from mnist_mlp import MLP  # noqa: E402  (the example's own model)


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rounds", type=int, default=30)
    options.add_argument("--steps", type=int, default=300, help="steps per round")
    options.add_argument("--threads", type=int, default=None)
    args = options.parse_args()
    if args.threads:
        cunn.set_num_threads(args.threads)
    cunn.manual_seed(0)
    rng = np.random.default_rng(0)
    images = rng.standard_normal((100 * 64, 784)).astype(np.float32)
    labels = rng.integers(0, 10, len(images))
    batches = [(cunn.from_numpy(images[i:i + 64]), cunn.from_numpy(labels[i:i + 64]))
               for i in range(0, len(images), 64)]
    models = {"nn.Sequential": nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)),
              "custom Module": MLP()}
    optimizers = {name: optim.Adam(model.parameters(), lr=1e-3) for name, model in models.items()}
    criterion = nn.CrossEntropyLoss()

    def round_of_steps(name):
        model, optimizer = models[name], optimizers[name]
        started = time.perf_counter()
        for step in range(args.steps):
            x, y = batches[step % len(batches)]
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            loss.item()
        return (time.perf_counter() - started) / args.steps

    for name in models:  # warm-up
        round_of_steps(name)
    times = {name: [] for name in models}
    for _ in range(args.rounds):
        for name in models:
            times[name].append(round_of_steps(name))
    print(f"cunn {cunn.__version__}  threads {cunn.get_num_threads()}  "
          f"{args.rounds} rounds of {args.steps} steps")
    for name, values in times.items():
        print(f"  {name:14s} {statistics.median(values) * 1e6:7.1f} us per step")
    ratios = [module / sequential for module, sequential
              in zip(times["custom Module"], times["nn.Sequential"])]
    print(f"  custom Module / nn.Sequential: {statistics.median(ratios):.2f}x "
          f"(rounds {min(ratios):.2f} to {max(ratios):.2f})")


if __name__ == "__main__":
    main()

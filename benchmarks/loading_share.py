"""How much of an MLP training epoch loading MNIST costs: the DataLoader alone vs training on
the same batches already in memory, alternating, medians.

    CUNN_DATA=../shared/data PYTHONPATH=. python3 benchmarks/loading_share.py [--rounds 9]
        [--workers 2] [--batches 200]

The loader runs as the examples use it: MNIST with ToTensor, Normalize(0.1307, 0.3081) and
Flatten, batch 64, shuffled. The training side is the 784-128-10 MLP with Adam. The share is
the median over rounds of load time / training time (the target: under 10%).

With --workers N (N > 0) it then measures what worker processes buy when loading is heavy:
the same loader with a per-sample augmentation (a random shift of up to 2 pixels, written in
NumPy, drawn from cunn's generator) feeding the training loop, num_workers 0 against N
(persistent workers), alternating; the first --batches batches of an epoch per round. The
epoch time with workers approaches max(loading / N, training) instead of their sum.
"""
import argparse
import itertools
import statistics
import time

import numpy as np

import cunn
from cunn import _C
import cunn.data as data
import cunn.nn as nn
import cunn.optim as optim
from cunn import random as cunn_random
from cunn.data import transforms


def random_shift(image):
    """Shifts a (1, 28, 28) image by up to 2 pixels each way, zeros filling in (the classic
    MNIST augmentation), one sample at a time as a user's transform would."""
    image = np.asarray(image)
    padded = np.pad(image, ((0, 0), (2, 2), (2, 2)))
    dy, dx = cunn_random.generator().integers(0, 5, 2)
    return np.ascontiguousarray(padded[:, dy:dy + 28, dx:dx + 28])


def compare_workers(args, model, optimizer, criterion):
    augmented = transforms.Compose([transforms.ToTensor(), transforms.Lambda(random_shift),
                                    transforms.Normalize((0.1307,), (0.3081,)),
                                    transforms.Flatten()])
    dataset = data.MNIST(root=args.data, train=True, transform=augmented)
    loaders = {0: data.DataLoader(dataset, batch_size=64, shuffle=True, seed=0),
               args.workers: data.DataLoader(dataset, batch_size=64, shuffle=True, seed=0,
                                             num_workers=args.workers, persistent_workers=True)}

    def epoch(loader, train):
        started = time.perf_counter()
        for inputs, labels in itertools.islice(loader, args.batches):
            if train:
                optimizer.zero_grad()
                loss = criterion(model(inputs), labels)
                loss.backward()
                optimizer.step()
                loss.item()
        return time.perf_counter() - started

    for loader in loaders.values():
        epoch(loader, True)  # starts the persistent workers, warms up
    times = {(workers, train): [] for workers in loaders for train in (False, True)}
    for _ in range(args.rounds):
        for workers, loader in loaders.items():
            for train in (False, True):
                times[(workers, train)].append(epoch(loader, train))
    speedup = statistics.median(a / b for a, b in zip(times[(0, True)],
                                                      times[(args.workers, True)]))
    print(f"\nWith a per-sample augmentation (random shift), first {args.batches} batches of "
          f"an epoch, medians of {args.rounds} alternating rounds:")
    for workers in loaders:
        load = statistics.median(times[(workers, False)])
        both = statistics.median(times[(workers, True)])
        print(f"  num_workers={workers}: loading alone {load:.3f} s, loading + training "
              f"{both:.3f} s")
    print(f"  num_workers={args.workers} trains {speedup:.2f}x as fast as num_workers=0 "
          f"(median of per-round ratios)")


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rounds", type=int, default=9)
    options.add_argument("--data", default=None, help="folder with the MNIST IDX files")
    options.add_argument("--workers", type=int, default=2,
                         help="worker processes for the augmentation comparison (0: skip it)")
    options.add_argument("--batches", type=int, default=200,
                         help="batches per round in the augmentation comparison")
    args = options.parse_args()
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.1307,), (0.3081,)),
                                    transforms.Flatten()])
    loader = data.DataLoader(data.MNIST(root=args.data, train=True, transform=transform),
                             batch_size=64, shuffle=True, seed=0)
    cunn.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    batches = list(loader)

    def load():
        for _ in loader:
            pass

    def train():
        for inputs, labels in batches:
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            loss.item()

    loads, trains = [], []
    for _ in range(args.rounds):
        for function, times in ((load, loads), (train, trains)):
            started = time.perf_counter()
            function()
            times.append(time.perf_counter() - started)
    share = statistics.median(l / t for l, t in zip(loads, trains))
    print(f"threads {cunn.get_num_threads()}  ISA {_C.isa()}")
    print(f"loading {statistics.median(loads):.4f} s/epoch, training "
          f"{statistics.median(trains):.4f} s/epoch, share {100 * share:.1f}% "
          f"(median of {args.rounds} alternating rounds)")
    if args.workers > 0:
        compare_workers(args, model, optimizer, criterion)


if __name__ == "__main__":
    main()

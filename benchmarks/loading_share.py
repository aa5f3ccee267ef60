"""How much of an MLP training epoch loading MNIST costs: the DataLoader alone vs training on
the same batches already in memory, alternating, medians.

    CUNN_DATA=../shared/data PYTHONPATH=. python3 benchmarks/loading_share.py [--rounds 9]

The loader runs as the examples use it: MNIST with ToTensor, Normalize(0.1307, 0.3081) and
Flatten, batch 64, shuffled. The training side is the 784-128-10 MLP with Adam. The share is
the median over rounds of load time / training time (the target: under 10%).
"""
import argparse
import statistics
import time

import cunn
from cunn import _C
import cunn.data as data
import cunn.nn as nn
import cunn.optim as optim
from cunn.data import transforms


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rounds", type=int, default=9)
    options.add_argument("--data", default=None, help="folder with the MNIST IDX files")
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


if __name__ == "__main__":
    main()

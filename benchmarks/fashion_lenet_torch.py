"""examples/fashion_lenet.py's twin in PyTorch: the same network, initialisation, optimizer,
batch size and epochs on the same Fashion-MNIST files, for comparing test accuracy.

    python benchmarks/fashion_lenet_torch.py [--epochs 10] [--threads 1] [--seed 0]
                                             [--data /usr/share/datasets/fashion-mnist]

Prints the test accuracy after every epoch (the last line is the one to compare with
`python examples/fashion_lenet.py` after as many epochs). The IDX files are read with
cunn.data.mnist.load (a NumPy reader); everything else is PyTorch.
"""
import argparse
import time

import numpy as np


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--epochs", type=int, default=10)
    options.add_argument("--batch-size", type=int, default=256)
    options.add_argument("--lr", type=float, default=1.0)
    options.add_argument("--threads", type=int, default=1)
    options.add_argument("--seed", type=int, default=0)
    options.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = options.parse_args()

    import torch
    from torch import nn

    from cunn.data import mnist

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = mnist.load(args.data, download=False)
    x_train = torch.from_numpy(x_train.astype(np.float32)[:, None] / 255)
    x_test = torch.from_numpy(x_test.astype(np.float32)[:, None] / 255)
    y_train, y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)

    model = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
        nn.Linear(84, 10))
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(module.weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        model.train()
        started = time.perf_counter()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for first in range(0, len(order), args.batch_size):
            batch = order[first:first + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            total += loss.item()
        seconds = time.perf_counter() - started
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum())
                          for i in range(0, len(x_test), 1000))
        steps = -(-len(order) // args.batch_size)
        print(f"epoch {epoch:3d}  train loss {total / steps:.4f}  test_accuracy "
              f"{100.0 * correct / len(x_test):.2f}%  ({seconds:.2f} s)", flush=True)


if __name__ == "__main__":
    main()

"""examples/fashion_lenet.py's twin in PyTorch: the same network, initialisation, optimizer,
batch size and epochs on the same Fashion-MNIST files, for comparing test accuracy.

    python benchmarks/fashion_lenet_torch.py [--epochs 10] [--threads 1] [--seed 0]
                                             [--data /usr/share/datasets/fashion-mnist]
                                             [--independent]

By default PyTorch starts from the very weights `python examples/fashion_lenet.py --seed S`
starts from and trains on the very batch sequence it sees (both taken from cunn: the example's
model built under cunn.manual_seed(S), its DataLoader with seed S), so the two runs differ only
in the frameworks' arithmetic. With --independent PyTorch draws its own Xavier weights and
shuffles with its own generator (same hyper-parameters). Prints the test accuracy after every
epoch; compare the last line with the example's after as many epochs.
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")


def _array(value):
    """A NumPy array from an array or a Tensor of either framework."""
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def torch_lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
        nn.Linear(84, 10))


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--epochs", type=int, default=10)
    options.add_argument("--batch-size", type=int, default=256)
    options.add_argument("--lr", type=float, default=1.0)
    options.add_argument("--threads", type=int, default=1)
    options.add_argument("--seed", type=int, default=0)
    options.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    options.add_argument("--independent", action="store_true",
                         help="PyTorch's own initial weights and shuffling")
    args = options.parse_args()

    import torch
    from torch import nn

    import cunn
    import cunn.data

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = torch_lenet(nn)
    test_set = cunn.data.MNIST(args.data, train=False, download=False)
    # float32(x) / 255, as cunn's ToTensor computes it
    x_test = torch.from_numpy(_array(test_set.data).astype(np.float32)[:, None] / 255)
    y_test = torch.from_numpy(_array(test_set.targets).astype(np.int64))
    if args.independent:
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_uniform_(module.weight)
        train_set = cunn.data.MNIST(args.data, train=True, download=False)
        x_train = torch.from_numpy(_array(train_set.data).astype(np.float32)[:, None] / 255)
        y_train = torch.from_numpy(_array(train_set.targets).astype(np.int64))
        generator = torch.Generator().manual_seed(args.seed)

        def batches():
            order = torch.randperm(len(x_train), generator=generator)
            for first in range(0, len(order), args.batch_size):
                chosen = order[first:first + args.batch_size]
                yield x_train[chosen], y_train[chosen]
    else:
        sys.path.insert(0, EXAMPLES)
        import fashion_lenet

        cunn.manual_seed(args.seed)  # what examples/common.setup does before building
        reference = fashion_lenet.lenet_batch_norm()
        reference.apply(fashion_lenet.xavier_init)
        model.load_state_dict({key: torch.from_numpy(np.array(_array(value)))
                               for key, value in reference.state_dict().items()})
        train_set = cunn.data.MNIST(args.data, train=True, download=False,
                                    transform=cunn.data.transforms.ToTensor())
        loader = cunn.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                      seed=args.seed)

        def batches():
            for images, labels in loader:
                yield torch.from_numpy(_array(images)), torch.from_numpy(_array(labels))

    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, args.epochs + 1):
        model.train()
        started = time.perf_counter()
        total, steps = 0.0, 0
        for images, labels in batches():
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            total += loss.item()
            steps += 1
        seconds = time.perf_counter() - started
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum())
                          for i in range(0, len(x_test), 1000))
        print(f"epoch {epoch:3d}  train loss {total / steps:.4f}  test_accuracy "
              f"{100.0 * correct / len(x_test):.2f}%  ({seconds:.2f} s)", flush=True)


if __name__ == "__main__":
    main()

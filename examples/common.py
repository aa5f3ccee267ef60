"""What every MNIST example shares: options, data, the training loop, saving and logs.

Each example script builds its network and optimizer and hands them to ``run``;
everything a user sees while training (progress bar, per-epoch line, CSV/JSON logs,
curves, checkpoints) happens here, once.
"""
import argparse
import json
import os
import sys
import time

import cunn
import cunn.data as data
from cunn.data import transforms

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def parser(description, *, epochs, batch_size, lr):
    """The options every example takes, with the example's own defaults."""
    options = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="MNIST is looked for in --data, then $CUNN_DATA/mnist, then ~/.cache/cunn/mnist, "
               "and downloaded into the cache when missing.")
    options.add_argument("--epochs", type=int, default=epochs, help="passes over the training set")
    options.add_argument("--batch-size", type=int, default=batch_size, help="training batch size")
    options.add_argument("--lr", type=float, default=lr, help="learning rate")
    options.add_argument("--data", metavar="DIR", default=None,
                         help="folder holding the MNIST IDX files (plain or .gz)")
    options.add_argument("--backend", choices=("cpu", "numpy"), default="cpu",
                         help="kernels: compiled C++ or the NumPy reference")
    options.add_argument("--threads", type=int, default=None,
                         help="kernel threads (default: all cores, or OMP_NUM_THREADS)")
    options.add_argument("--seed", type=int, default=0, help="seed for init and shuffling")
    options.add_argument("--save", metavar="PATH", default=None,
                         help="write a checkpoint (model, optimizer, epoch) after every epoch")
    options.add_argument("--resume", metavar="PATH", default=None,
                         help="continue from a checkpoint written by --save")
    options.add_argument("--log", metavar="PATH", default=None,
                         help="per-epoch metrics: CSV if PATH ends in .csv, else JSON lines")
    options.add_argument("--plot", metavar="PATH", default=None,
                         help="loss/accuracy curves as PNG (needs matplotlib)")
    options.add_argument("--max-steps", type=int, default=None,
                         help="stop each epoch after this many batches (quick runs)")
    options.add_argument("--no-progress", action="store_true", help="no progress bar")
    return options


def setup(args):
    """Backend, threads and seed, as the options say."""
    if args.batch_size < 1 or args.epochs < 0:
        sys.exit("error: --batch-size must be >= 1 and --epochs >= 0")
    cunn.use_backend(args.backend)
    if args.threads is not None:
        if args.threads < 1:
            sys.exit("error: --threads must be >= 1")
        cunn.set_num_threads(args.threads)
    cunn.manual_seed(args.seed)


def mnist_loaders(args, *, flatten, normalize=True, download=True):
    """Train and test DataLoaders over MNIST as float32 images in [0, 1] (normalised); any
    folder of IDX files in MNIST's layout (Fashion-MNIST) loads the same way."""
    steps = [transforms.ToTensor()]
    if normalize:
        steps.append(transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)))
    if flatten:
        steps.append(transforms.Flatten())
    transform = transforms.Compose(steps)
    try:
        train_set = data.MNIST(root=args.data, train=True, transform=transform,
                               download=download)
        test_set = data.MNIST(root=args.data, train=False, transform=transform,
                              download=download)
    except (FileNotFoundError, data.DatasetError) as error:
        sys.exit(f"error: {error}")
    train_loader = data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                   seed=args.seed)
    test_loader = data.DataLoader(test_set, batch_size=1000)
    return train_loader, test_loader


def _progress(iterable, total, description, disabled):
    if disabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=description, unit="batch", leave=False,
                dynamic_ncols=True)


class MetricsLog:
    """Appends one record per epoch to a CSV or JSON-lines file."""

    def __init__(self, path):
        self.path = path
        self.csv = path is not None and path.endswith(".csv")

    def write(self, record):
        if self.path is None:
            return
        new_file = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        with open(self.path, "a", encoding="utf-8") as handle:
            if self.csv:
                if new_file:
                    handle.write(",".join(record) + "\n")
                handle.write(",".join(str(value) for value in record.values()) + "\n")
            else:
                handle.write(json.dumps(record) + "\n")


def plot_curves(path, history):
    """Loss and accuracy per epoch as a PNG; says so plainly when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"--plot {path}: matplotlib is not installed (pip install matplotlib); "
              "no plot written", file=sys.stderr)
        return
    epochs = [record["epoch"] for record in history]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(9, 3.5))
    loss_axis.plot(epochs, [record["train_loss"] for record in history], marker="o")
    loss_axis.set(xlabel="epoch", ylabel="train loss", title="Training loss")
    for key in history[0]:
        if key.endswith("accuracy"):
            accuracy_axis.plot(epochs, [record[key] for record in history], marker="o", label=key)
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy (%)", title="Test accuracy")
    accuracy_axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"curves written to {path}")


def save_checkpoint(path, model, optimizer, epoch, history):
    cunn.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
               "epoch": epoch, "history": json.dumps(history)}, path)


def load_checkpoint(path, model, optimizer):
    """Restores model and optimizer; returns (epochs done, history)."""
    try:
        checkpoint = cunn.load(path)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"error: --resume {path}: {error}")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return int(checkpoint["epoch"]), json.loads(checkpoint["history"])


def run(args, model, optimizer, train_step, evaluate, train_loader, test_loader):
    """Trains for args.epochs; ``train_step(batch) -> loss`` and ``evaluate(loader) -> dict``."""
    print(model)
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}   backend: "
          f"{args.backend}   threads: {cunn.get_num_threads()}   batch size: {args.batch_size}")
    first_epoch, history = 0, []
    if args.resume:
        first_epoch, history = load_checkpoint(args.resume, model, optimizer)
        print(f"resumed from {args.resume} after epoch {first_epoch}")
    log = MetricsLog(args.log)
    steps = len(train_loader) if args.max_steps is None else min(args.max_steps, len(train_loader))
    for epoch in range(first_epoch + 1, first_epoch + args.epochs + 1):
        model.train()
        started = time.perf_counter()
        total_loss, seen = 0.0, 0
        bar = _progress(train_loader, steps, f"epoch {epoch}", args.no_progress)
        for step, batch in enumerate(bar):
            if step == steps:
                break
            loss = train_step(batch)
            total_loss += loss
            seen += 1
            if seen % 20 == 0 and hasattr(bar, "set_postfix"):
                elapsed = time.perf_counter() - started
                bar.set_postfix(loss=f"{total_loss / seen:.4f}",
                                img_s=f"{seen * args.batch_size / elapsed:,.0f}")
        if hasattr(bar, "close"):
            bar.close()
        train_seconds = time.perf_counter() - started
        model.eval()
        with cunn.no_grad():
            metrics = evaluate(test_loader)
        record = {"epoch": epoch, "train_loss": round(total_loss / max(seen, 1), 6), **metrics,
                  "seconds": round(train_seconds, 3)}
        history.append(record)
        shown = "  ".join(f"{key} {value:.2f}%" for key, value in metrics.items())
        print(f"epoch {epoch:3d}  train loss {record['train_loss']:.4f}  {shown}  "
              f"({train_seconds:.2f} s, {seen * args.batch_size / train_seconds:,.0f} images/s)")
        log.write(record)
        if args.save:
            save_checkpoint(args.save, model, optimizer, epoch, history)
    if args.save:
        print(f"model saved to {args.save}")
    if args.plot and history:
        plot_curves(args.plot, history)
    return history


def classifier_step(model, loss_fn, optimizer):
    """A train_step for a single-output classifier."""
    def step(batch):
        images, labels = batch
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def classifier_accuracy(model):
    """An evaluate function: test accuracy in percent."""
    def evaluate(loader):
        correct = total = 0
        for images, labels in loader:
            _, predicted = cunn.max(model(images).data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
        return {"test_accuracy": 100.0 * correct / total}
    return evaluate

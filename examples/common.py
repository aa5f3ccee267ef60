"""What every MNIST example shares: options, data, the training loop, saving and logs.

Each example script builds its network and optimizer and hands them to ``run``;
everything a user sees while training (progress bar, per-epoch line, CSV/JSON logs,
curves, checkpoints) happens here, once.
"""
import argparse
import json
import math
import os
import sys
import time

import cunn
import cunn.data as data
from cunn.device import check_device
from cunn.data import transforms

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: ...)" only for real values: where the default is None the help
    text says what happens instead."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def fail(message):
    """A one-line error on stderr and exit status 2, as argparse does for bad options."""
    print(f"{os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr)
    sys.exit(2)


def check_output_path(option, path):
    """Ends the run now if ``path`` cannot be written later (after hours of training)."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        fail(f"{option} {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        fail(f"{option} {path}: is a folder; give a file name")
    if not os.access(folder, os.W_OK):
        fail(f"{option} {path}: the folder {folder} is not writable")


def parser(description, *, epochs, batch_size, lr):
    """The options every example takes, with the example's own defaults (``lr=None``: the
    example picks one from its other options)."""
    options = argparse.ArgumentParser(
        description=description,
        formatter_class=_HelpFormatter,
        epilog="MNIST is looked for in --data, then $CUNN_DATA/mnist, then ~/.cache/cunn/mnist, "
               "and downloaded into the cache when missing.")
    options.add_argument("--epochs", type=int, default=epochs, help="passes over the training set")
    options.add_argument("--batch-size", type=int, default=batch_size, help="training batch size")
    options.add_argument("--lr", type=float, default=lr,
                         help="learning rate" if lr is not None else
                         "learning rate (default: the optimizer's own, see above)")
    options.add_argument("--data", metavar="DIR", default=None,
                         help="folder holding the MNIST IDX files (plain or .gz)")
    options.add_argument("--backend", choices=("cpu", "numpy"), default="cpu",
                         help="kernels: compiled C++ or the NumPy reference")
    options.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                         help="where the model and each batch live (cuda needs cunn built "
                              "with CUDA and a GPU)")
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
    options.add_argument("--tensorboard", metavar="DIR", default=None,
                         help="TensorBoard event files in DIR: loss every 20 batches, "
                              "per-epoch metrics (needs pip install \"cunn[tensorboard]\")")
    options.add_argument("--max-steps", type=int, default=None,
                         help="stop each epoch after this many batches (quick runs)")
    options.add_argument("--no-progress", action="store_true",
                         help="no progress bar (also off when the output is not a terminal)")
    options.add_argument("--distributed", action="store_true",
                         help="data-parallel over MPI: launch with mpiexec -n N (needs the mpi "
                              "extra; on by itself when mpiexec starts more than one process)")
    return options


def _launched_by_mpi():
    """True when an MPI launcher started this process as one of several (MPICH's Hydra and
    Open MPI both say so in the environment)."""
    for variable in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS"):
        if int(os.environ.get(variable, "1") or 1) > 1:
            return True
    return False


def _start_distributed(args):
    """Joins the MPI job; only rank 0 prints, logs, plots and saves."""
    args.distributed = args.distributed or _launched_by_mpi()
    args.rank, args.world_size = 0, 1
    if not args.distributed:
        return
    import cunn.distributed as dist
    try:
        dist.init_process_group("mpi")
    except ImportError as error:
        fail(f"--distributed: {error}")
    args.rank, args.world_size = dist.get_rank(), dist.get_world_size()
    if args.rank != 0:
        args.no_progress = True
        args.log = args.plot = args.save = args.tensorboard = None
        sys.stdout = open(os.devnull, "w")


def distribute(args, model):
    """The model wrapped in DistributedDataParallel when training over MPI, else itself."""
    if not args.distributed:
        return model
    from cunn.nn.parallel import DistributedDataParallel
    return DistributedDataParallel(model)


def setup(args):
    """Checks every option before any work (bad values and unwritable output paths end
    the run at once, with one line), then sets backend, threads and seed."""
    if args.batch_size < 1:
        fail(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.epochs < 0:
        fail(f"--epochs must be >= 0, got {args.epochs}")
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr >= 0):
        fail(f"--lr must be a finite number >= 0, got {args.lr}")
    if args.threads is not None and args.threads < 1:
        fail(f"--threads must be >= 1, got {args.threads}")
    if args.max_steps is not None and args.max_steps < 1:
        fail(f"--max-steps must be >= 1, got {args.max_steps}")
    for option in ("save", "log", "plot"):
        check_output_path(f"--{option}", getattr(args, option))
    if args.resume is not None and not os.path.isfile(args.resume):
        fail(f"--resume {args.resume}: no such file")
    args.no_progress = args.no_progress or not (sys.stdout.isatty() and sys.stderr.isatty())
    if args.device == "cuda":
        try:
            check_device("--device cuda", "cuda")
        except RuntimeError as error:
            fail(" ".join(str(error).split()))
    cunn.use_backend(args.backend)
    if args.threads is not None:
        cunn.set_num_threads(args.threads)
    cunn.manual_seed(args.seed)
    _start_distributed(args)


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
    except (FileNotFoundError, NotADirectoryError, data.DatasetError) as error:
        fail(" ".join(str(error).split()))
    if args.distributed:
        # Each rank takes its shard; the test set is evaluated whole on every rank.
        sampler = data.DistributedSampler(train_set, seed=args.seed)
        train_loader = data.DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
    else:
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


def _unwrapped(model):
    """The network itself: checkpoints of a distributed run load into a plain model."""
    from cunn.nn.parallel import DistributedDataParallel
    return model.module if isinstance(model, DistributedDataParallel) else model


def tensorboard_writer(directory):
    """A SummaryWriter into ``directory`` (None without --tensorboard); says so plainly
    when the tensorboard extra is missing."""
    if directory is None:
        return None
    try:
        from cunn.utils.tensorboard import SummaryWriter
        return SummaryWriter(directory)
    except ImportError as error:
        sys.exit(f"error: --tensorboard {directory}: {error}")


def save_checkpoint(path, model, optimizer, epoch, history):
    cunn.save({"model": _unwrapped(model).state_dict(), "optimizer": optimizer.state_dict(),
               "epoch": epoch, "history": json.dumps(history)}, path)


def load_checkpoint(path, model, optimizer):
    """Restores model and optimizer; returns (epochs done, history)."""
    try:
        checkpoint = cunn.load(path)
        _unwrapped(model).load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        return int(checkpoint["epoch"]), json.loads(checkpoint["history"])
    except (OSError, ValueError, TypeError, KeyError) as error:
        # Another model's checkpoint, or not one of these scripts' checkpoints at all.
        problem = f"no {error} entry" if isinstance(error, KeyError) else str(error)
        fail(f"--resume {path}: cannot continue from this checkpoint: "
             + " ".join(problem.split()))


def to_device(batch, device):
    """``batch`` (Tensors in tuples, lists and dicts) with every Tensor moved to ``device``."""
    if isinstance(batch, cunn.Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: to_device(item, device) for key, item in batch.items()}
    return batch


class OnDevice:
    """A loader whose batches arrive on ``device`` (each one copied as it is drawn)."""

    def __init__(self, loader, device):
        self.loader, self.device = loader, device
        self.sampler = getattr(loader, "sampler", None)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        return (to_device(batch, self.device) for batch in self.loader)


def run(args, model, optimizer, train_step, evaluate, train_loader, test_loader):
    """Trains for args.epochs on args.device; ``train_step(batch) -> loss`` and
    ``evaluate(loader) -> dict``. The model moves in place (the optimizer made before keeps
    its parameters) and each batch is copied to the device as it is drawn."""
    device = getattr(args, "device", "cpu")
    model.to(device)
    if device != "cpu":
        train_loader, test_loader = OnDevice(train_loader, device), OnDevice(test_loader, device)
    print(model)
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}   backend: "
          f"{args.backend}   device: {device}   threads: {cunn.get_num_threads()}   "
          f"batch size: {args.batch_size}"
          + (f" per process x {args.world_size} processes" if args.distributed else ""))
    first_epoch, history = 0, []
    if args.resume:
        first_epoch, history = load_checkpoint(args.resume, model, optimizer)
        print(f"resumed from {args.resume} after epoch {first_epoch}")
    log = MetricsLog(args.log)
    board = tensorboard_writer(args.tensorboard)
    steps = len(train_loader) if args.max_steps is None else min(args.max_steps, len(train_loader))
    for epoch in range(first_epoch + 1, first_epoch + args.epochs + 1):
        model.train()
        sampler = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        started = time.perf_counter()
        total_loss, seen = 0.0, 0
        bar = _progress(train_loader, steps, f"epoch {epoch}", args.no_progress)
        for step, batch in enumerate(bar):
            if step == steps:
                break
            loss = train_step(batch)
            total_loss += loss
            seen += 1
            if board is not None and seen % 20 == 0:
                board.add_scalar("train/batch_loss", loss, (epoch - 1) * steps + step)
            if seen % 20 == 0 and hasattr(bar, "set_postfix"):
                elapsed = time.perf_counter() - started
                bar.set_postfix(loss=f"{total_loss / seen:.4f}",
                                img_s=f"{seen * args.batch_size * args.world_size / elapsed:,.0f}")
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
              f"({train_seconds:.2f} s, "
              f"{seen * args.batch_size * args.world_size / train_seconds:,.0f} images/s)")
        log.write(record)
        if board is not None:
            for key, value in record.items():
                if key != "epoch":
                    board.add_scalar(f"epoch/{key}", value, epoch)
            board.flush()
        if args.save:
            save_checkpoint(args.save, model, optimizer, epoch, history)
    if args.save:
        print(f"model saved to {args.save}")
    if board is not None:
        board.close()
        print(f"TensorBoard events written to {args.tensorboard} "
              f"(view with: tensorboard --logdir {args.tensorboard})")
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

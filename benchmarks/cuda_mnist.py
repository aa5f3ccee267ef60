"""The MNIST MLP and CNN trained on a GPU: milliseconds per training step and test accuracy
after one epoch, for cunn and, when torch with CUDA is installed, PyTorch on the same GPU.

    python benchmarks/cuda_mnist.py [--device cuda] [--epochs 1] [--max-steps N]
                                    [--models mlp,cnn] [--data DIR] [--json PATH]

The networks are the examples' (examples/mnist_mlp.py: 784-128-10; examples/mnist_cnn.py:
two 3x3 convolutions with pooling, then 3136-128-10), Adam lr 1e-3, batch 64, inputs
normalised. Data: MNIST from --data or $CUNN_DATA/mnist; where neither exists (a GPU machine
without the files), generated digits of MNIST's sizes (ten noisy templates), said in the
output. Each batch is copied from host memory to the device as in a training loop; the
first 20 steps are warm-up and not timed; the GPU is synchronised before the clock stops.
The last line starts with "summary:" (tools/gpu_check.sh prints it).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

MEAN, STD = 0.1307, 0.3081
BATCH, TEST_BATCH, WARMUP = 64, 1000, 20


def load_data(folder):
    """(train images, train labels, test images, test labels, description): images float32
    (N, 1, 28, 28) normalised, labels int64."""
    import cunn.data as data

    candidates = [folder] if folder else []
    if os.environ.get("CUNN_DATA"):
        candidates.append(os.path.join(os.environ["CUNN_DATA"], "mnist"))
    for candidate in candidates:
        if candidate and os.path.isdir(candidate):
            train = data.MNIST(root=candidate, train=True, download=False)
            test = data.MNIST(root=candidate, train=False, download=False)
            return (*_normalised(train.data, train.targets), *_normalised(test.data, test.targets),
                    "MNIST")
    return (*_generated(60000, seed=1), *_generated(10000, seed=2), "generated digits")


def _normalised(images, labels):
    images = (np.asarray(images, dtype=np.float32) / 255.0 - MEAN) / STD
    return images.reshape(-1, 1, 28, 28), np.asarray(labels, dtype=np.int64)


def _generated(count, seed):
    """Ten fixed random templates (the same for every seed) plus per-image noise."""
    templates = np.random.default_rng(0).random((10, 28, 28)) > 0.7
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    # A weak signal in strong noise: accuracy well short of 100% tells the runs apart.
    images = templates[labels] * 25.0 + rng.normal(80.0, 100.0, (count, 28, 28))
    return _normalised(np.clip(images, 0, 255), labels)


def cunn_models(nn):
    return {
        "mlp": lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
                                     nn.Linear(128, 10)),
        "cnn": lambda: nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)),
    }


def train_and_test(library, name, data, device, epochs, max_steps):
    """{'library', 'model', 'ms_per_step', 'steps', 'accuracy'} for one run."""
    if library == "cunn":
        import cunn as lib
        synchronize = lib.cuda.synchronize if device == "cuda" else (lambda: None)
    else:
        import torch as lib
        synchronize = lib.cuda.synchronize if device == "cuda" else (lambda: None)
    lib.manual_seed(0)
    model = cunn_models(lib.nn)[name]().to(device)
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()
    train_x, train_y, test_x, test_y = data[:4]
    order_rng = np.random.default_rng(0)
    steps, timed_steps, started = 0, 0, None
    for _ in range(epochs):
        order = order_rng.permutation(len(train_x))
        for first in range(0, len(order) - BATCH + 1, BATCH):
            if max_steps is not None and steps >= max_steps:
                break
            chosen = order[first:first + BATCH]
            images = lib.from_numpy(train_x[chosen]).to(device)
            labels = lib.from_numpy(train_y[chosen]).to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            steps += 1
            if steps == WARMUP:
                synchronize()
                started = time.perf_counter()
            elif steps > WARMUP:
                timed_steps += 1
    synchronize()
    elapsed = time.perf_counter() - started if started is not None else float("nan")
    model.eval()
    correct = 0
    with lib.no_grad():
        for first in range(0, len(test_x), TEST_BATCH):
            images = lib.from_numpy(test_x[first:first + TEST_BATCH]).to(device)
            labels = lib.from_numpy(test_y[first:first + TEST_BATCH]).to(device)
            correct += int((model(images).argmax(1) == labels).sum().item())
    return {"library": library, "model": name, "device": device, "steps": steps,
            "ms_per_step": 1000.0 * elapsed / timed_steps if timed_steps else float("nan"),
            "accuracy": 100.0 * correct / len(test_x), "final_loss": float(loss.item())}


def _torch_cuda():
    try:
        import torch
    except ImportError:
        return None, "torch not installed"
    if not torch.cuda.is_available():
        return None, f"torch {torch.__version__} has no CUDA"
    return torch, torch.cuda.get_device_name(0)


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    options.add_argument("--epochs", type=int, default=1)
    options.add_argument("--max-steps", type=int, default=None, help="steps per run at most")
    options.add_argument("--models", default="mlp,cnn", help="comma-separated: mlp, cnn")
    options.add_argument("--data", default=None, help="folder with the MNIST IDX files")
    options.add_argument("--no-torch", action="store_true", help="skip the PyTorch runs")
    options.add_argument("--json", default=None, help="write the results here")
    args = options.parse_args()
    import cunn

    if args.device == "cuda" and not cunn.cuda.is_available():
        from cunn.device import check_device
        try:
            check_device("cuda_mnist", "cuda")
        except RuntimeError as error:
            sys.exit(str(error))
    data = load_data(args.data)
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    libraries = ["cunn"]
    torch_note = "skipped"
    if not args.no_torch:
        torch, torch_note = _torch_cuda() if args.device == "cuda" else (None, "cpu run")
        if torch is not None:
            libraries.append("torch")
    name = cunn.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"device: {name}; data: {data[4]}; torch: {torch_note}")
    results = []
    for model in models:
        for library in libraries:
            result = train_and_test(library, model, data, args.device, args.epochs,
                                    args.max_steps)
            results.append(result)
            print(f"{library:6s} {model:4s} {args.device}: {result['ms_per_step']:8.3f} ms/step  "
                  f"accuracy {result['accuracy']:6.2f}%  ({result['steps']} steps, final loss "
                  f"{result['final_loss']:.4f})", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"device": name, "data": data[4], "results": results}, handle, indent=1)
    parts = []
    for model in models:
        cells = [f"{r['library']} {r['ms_per_step']:.2f} ms/step {r['accuracy']:.1f}% "
                 f"({r['steps']} steps)" for r in results if r["model"] == model]
        parts.append(f"{model}: " + ", ".join(cells))
    print(f"summary: {name} ({data[4]}) " + "; ".join(parts))


if __name__ == "__main__":
    main()

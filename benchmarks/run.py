"""cunn's benchmark suite: cunn's compiled backend against its NumPy backend and PyTorch.

    python benchmarks/run.py [--workloads gemm mlp ...] [--threads 1 2] [--repeats 5]
                             [--quick] [--json PATH] [--png PATH]
                             [--frameworks cunn cunn-numpy numpy torch]
    python benchmarks/run.py --report RESULTS.json [--png PATH]

It measures the cunn that `import cunn` finds, as a user's script would: an installed one
(`pip install .`), or the source tree with PYTHONPATH pointing at it after
tools/build_inplace.sh. --report prints the tables of a saved run, and --png draws its chart.

Workloads (default: all):
  peak       the machine's FMA ceiling per core (fma_peak.c, compiled with cc); GEMM rows are
             also given as a fraction of it
  gemm       GEMM GFLOP/s: squares 64..2048 and the MNIST MLP products (batch 64 and 1024),
             cunn._C.gemm vs NumPy matmul (its BLAS) vs torch.matmul
  mlp        784-128-10 MLP, Adam(lr 1e-3), batch 64, real MNIST
  mlp3       784-128-64-10 MLP, SGD(lr 0.01, momentum 0.9), batch 64
  cnn        Conv2d(1,32,3,p1)-ReLU-MaxPool2d(2)-Conv2d(32,64,3,p1)-ReLU-MaxPool2d(2)-Flatten-
             Linear(3136,128)-ReLU-Linear(128,10), Adam(lr 1e-3), batch 64
  lenet      d2l's LeNet with batch norm: Conv2d(1,6,5)-BatchNorm2d-Sigmoid-AvgPool2d(2)-
             Conv2d(6,16,5)-BatchNorm2d-Sigmoid-AvgPool2d(2)-Flatten-Linear(256,120)-
             BatchNorm1d-Sigmoid-Linear(120,84)-BatchNorm1d-Sigmoid-Linear(84,10), SGD(lr 1.0),
             batch 64
  overhead   per-op Python overhead: a + b on 1-element tensors; Linear(784,128) forward at
             batch 1 (autograd recording)
  inference  the 784-128-10 MLP under no_grad: images/s at batch 1024, latency at batch 1
  import     `import cunn` / `import torch` / `import numpy` time and max RSS in fresh processes
  scaling    MLP and CNN epoch, 1 process x 2 threads against mpiexec -n 2 x 1 thread
             (DistributedDataParallel; benchmarks/scaling.py, needs the mpi extra)
  contention the MLP's 300 steps alone, beside a busy-loop process and two at once
             (benchmarks/contention.py; default threads against 1 thread)
(`train` names mlp, mlp3, cnn and lenet together.)

Method. Every framework runs in its own fresh child process per workload and thread count,
started with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS set and told the count
(cunn.set_num_threads, torch.set_num_threads). The parent drives the children in alternating
rounds (the order rotates each round): a round sleeps 0.15 s so the previous child's thread
pool stops spinning, makes one untimed call, then times samples. Figures are medians; a ratio
is the median over rounds of that round's ratio, so a burst of load from other processes moves
both sides of a ratio alike. Training uses one fixed permutation of the 60000 MNIST training
images, prepared once as float32 arrays, identical initial weights and the identical batch
sequence for every framework: data loading is not measured, and the final losses should agree.
A training round is a fixed number of steps after warm-up steps; the epoch time is the median
step time times 938 steps (the output says when a round was a whole epoch and when it is
extrapolated). PyTorch and matplotlib are optional: without them their columns say
"not installed". MNIST is read from --data, else $CUNN_DATA/mnist, else cunn's cache.
"""
import argparse
import datetime
import gc
import importlib.util
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import contention
from _harness import (IDLE_SECONDS, SAMPLE_SECONDS, OthersMeter, calls_per_sample,
                      cpu_counts, cpu_model, median, thread_environment, timed_round)

HERE = os.path.dirname(os.path.abspath(__file__))
ALL_WORKLOADS = ("peak", "gemm", "mlp", "mlp3", "cnn", "lenet", "overhead", "inference",
                 "import", "scaling", "contention")
ALIASES = {"train": ("mlp", "mlp3", "cnn", "lenet")}
MODEL_FRAMEWORKS = ("cunn", "cunn-numpy", "torch")
GEMM_FRAMEWORKS = ("cunn", "numpy", "torch")
STEPS_PER_EPOCH = 938          # ceil(60000 / 64); the last batch holds 32 images
BATCH = 64
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
NOMINAL_PEAK = 114.0           # GFLOP/s per core, AVX-512 FMA, this project's dev machine
NOT_INSTALLED = "not installed"
CONTENTION_STEPS = 300
BUSY_FRACTION = 0.05           # other processes' share of the CPUs that earns a warning

# (label, M, N, K, trans_a, trans_b): C = op(A) op(B), op(A) M x K, op(B) K x N
SQUARES = [(f"square {n}", n, n, n, False, False) for n in (64, 128, 256, 512, 1024, 2048)]


def mlp_shapes(batch):
    return [
        (f"L1 fwd X.W1T b{batch}", batch, 128, 784, False, True),
        (f"L1 dX gY.W1 b{batch}", batch, 784, 128, False, False),
        (f"L1 dW gYT.X b{batch}", 128, 784, batch, True, False),
        (f"L2 fwd H.W2T b{batch}", batch, 10, 128, False, True),
        (f"L2 dX gY.W2 b{batch}", batch, 128, 10, False, False),
        (f"L2 dW gYT.H b{batch}", 10, 128, batch, True, False),
    ]


GEMM_SHAPES = SQUARES + mlp_shapes(64) + mlp_shapes(1024)

# Framework-neutral model descriptions: cunn.nn and torch.nn share these names.
MODELS = {
    "mlp": dict(title="MLP 784-128-10 + Adam(1e-3)", image=False,
                layers=[("Linear", 784, 128), ("ReLU",), ("Linear", 128, 10)],
                optimizer=("Adam", dict(lr=1e-3))),
    "mlp3": dict(title="MLP 784-128-64-10 + SGD(0.01, m 0.9)", image=False,
                 layers=[("Linear", 784, 128), ("ReLU",), ("Linear", 128, 64), ("ReLU",),
                         ("Linear", 64, 10)],
                 optimizer=("SGD", dict(lr=0.01, momentum=0.9))),
    "cnn": dict(title="CNN conv32-conv64-fc128 + Adam(1e-3)", image=True,
                layers=[("Conv2d", 1, 32, 3, 1), ("ReLU",), ("MaxPool2d", 2),
                        ("Conv2d", 32, 64, 3, 1), ("ReLU",), ("MaxPool2d", 2), ("Flatten",),
                        ("Linear", 3136, 128), ("ReLU",), ("Linear", 128, 10)],
                optimizer=("Adam", dict(lr=1e-3))),
    "lenet": dict(title="LeNet+BatchNorm sigmoid avgpool + SGD(1)", image=True,
                  layers=[("Conv2d", 1, 6, 5, 0), ("BatchNorm2d", 6), ("Sigmoid",),
                          ("AvgPool2d", 2, 2), ("Conv2d", 6, 16, 5, 0), ("BatchNorm2d", 16),
                          ("Sigmoid",), ("AvgPool2d", 2, 2), ("Flatten",),
                          ("Linear", 256, 120), ("BatchNorm1d", 120), ("Sigmoid",),
                          ("Linear", 120, 84), ("BatchNorm1d", 84), ("Sigmoid",),
                          ("Linear", 84, 10)],
                  optimizer=("SGD", dict(lr=1.0))),
}
# steps timed per round and warm-up steps before the first round: (full run, --quick)
# (PyTorch's first ten or so steps are several times slower: oneDNN sets its kernels up.)
TRAIN_STEPS = {"mlp": ((STEPS_PER_EPOCH, 50), (100, 30)),
               "mlp3": ((STEPS_PER_EPOCH, 50), (100, 30)),
               "cnn": ((25, 20), (5, 12)),
               "lenet": ((100, 30), (20, 12))}


# --------------------------------------------------------------------------------------------
# Child side: one framework per process, serving the parent's commands.
# --------------------------------------------------------------------------------------------

def initial_weights(layers, seed=0):
    """PyTorch's default init drawn with NumPy (uniform in +-1/sqrt(fan_in) for weight and
    bias, what kaiming_uniform(a=sqrt(5)) gives), so every framework starts identically."""
    import numpy as np

    rng = np.random.default_rng(seed)
    state = {}
    for index, layer in enumerate(layers):
        if layer[0].startswith("BatchNorm"):
            channels = layer[1]
            state[f"{index}.weight"] = np.ones(channels, np.float32)
            state[f"{index}.bias"] = np.zeros(channels, np.float32)
            state[f"{index}.running_mean"] = np.zeros(channels, np.float32)
            state[f"{index}.running_var"] = np.ones(channels, np.float32)
            state[f"{index}.num_batches_tracked"] = np.array(0, np.int64)
            continue
        if layer[0] == "Linear":
            shape, fan_in = (layer[2], layer[1]), layer[1]
        elif layer[0] == "Conv2d":
            shape, fan_in = (layer[2], layer[1], layer[3], layer[3]), layer[1] * layer[3] ** 2
        else:
            continue
        bound = 1.0 / math.sqrt(fan_in)
        state[f"{index}.weight"] = rng.uniform(-bound, bound, shape).astype(np.float32)
        state[f"{index}.bias"] = rng.uniform(-bound, bound, shape[0]).astype(np.float32)
    return state


def build_model(nn, layers):
    modules = []
    for kind, *args in layers:
        if kind == "Conv2d":
            modules.append(nn.Conv2d(args[0], args[1], args[2], padding=args[3]))
        else:
            modules.append(getattr(nn, kind)(*args))
    return nn.Sequential(*modules)


def max_rss_mb():
    """This process's peak resident set, MB. On Linux getrusage's ru_maxrss survives exec, so a
    child would report its parent's peak if that was higher: /proc's VmHWM is the process's own
    (and the parent keeps no data anyway); getrusage elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / (1024.0 * 1024.0) if sys.platform == "darwin" else kib / 1024.0


class Framework:
    """What a child needs from a framework: arrays in, models, optimizers, no_grad."""

    def __init__(self, name, threads):
        import numpy as np

        self.np = np
        self.name = name
        self.threads = threads
        if name == "torch":
            import torch

            torch.set_num_threads(threads)
            self.lib, self.nn, self.optim = torch, torch.nn, torch.optim
            self.wrap = torch.from_numpy
            self.state = lambda state: {k: torch.from_numpy(v) for k, v in state.items()}
            self.version = torch.__version__
        elif name in ("cunn", "cunn-numpy"):
            import cunn
            import cunn.nn
            import cunn.optim

            cunn.set_num_threads(threads)
            cunn.use_backend("cpu" if name == "cunn" else "numpy")
            self.lib, self.nn, self.optim = cunn, cunn.nn, cunn.optim
            self.wrap = cunn.from_numpy
            self.state = dict
            self.version = cunn.__version__
        else:  # plain NumPy, for GEMM only
            self.lib = None
            self.version = np.__version__

    def tensor(self, values):
        return self.wrap(self.np.asarray(values, dtype=self.np.float32))


class GemmCase:
    def __init__(self, fw, m, n, k, trans_a, trans_b):
        np = fw.np
        rng = np.random.default_rng(0)
        a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
        if fw.name == "cunn":
            from cunn._backends import get

            gemm = get("cpu").gemm
            self.call = lambda: gemm(a, b, trans_a, trans_b)
        elif fw.name == "numpy":
            op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
            self.call = lambda: np.matmul(op_a, op_b)
        else:
            torch = fw.lib
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            op_a, op_b = (ta.T if trans_a else ta), (tb.T if trans_b else tb)
            self.call = lambda: torch.matmul(op_a, op_b)
        for _ in range(2):  # caches, pools, page faults
            self.call()

    def info(self):
        return {}


class TrainCase:
    def __init__(self, fw, model, data, warmup):
        np = fw.np
        spec = MODELS[model]
        x, labels = np.load(data + "_x.npy"), np.load(data + "_y.npy")
        if spec["image"]:
            x = x.reshape(-1, 1, 28, 28)
        self.batches = [(x[i:i + BATCH], labels[i:i + BATCH])
                        for i in range(0, len(x), BATCH)]
        self.rss_data = max_rss_mb()
        self.model = build_model(fw.nn, spec["layers"])
        self.model.load_state_dict(fw.state(initial_weights(spec["layers"])))
        self.model.train()
        name, options = spec["optimizer"]
        self.optimizer = getattr(fw.optim, name)(self.model.parameters(), **options)
        self.loss_fn = fw.nn.CrossEntropyLoss()
        self.wrap = fw.wrap
        self.position = 0
        self.losses = []
        for _ in range(warmup):
            self.call()
        self.losses = []

    def call(self):
        images, labels = self.batches[self.position % len(self.batches)]
        self.position += 1
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(self.wrap(images)), self.wrap(labels))
        loss.backward()
        self.optimizer.step()
        self.losses.append(loss.item())

    def info(self):
        return {"rss_data_mb": self.rss_data}

    def finish(self):
        import numpy as np

        last = self.losses[-min(len(self.losses), STEPS_PER_EPOCH):]
        return {"final_loss": float(np.mean(last)) if last else None,
                "final_loss_steps": len(last), "steps_trained": self.position,
                "rss_peak_mb": max_rss_mb(), "rss_data_mb": self.rss_data}


class TinyAddCase:
    def __init__(self, fw):
        a, b = fw.tensor([1.0]), fw.tensor([2.0])
        self.call = lambda: a + b

    def info(self):
        return {}


class LinearB1Case:
    def __init__(self, fw):
        np = fw.np
        layer = fw.nn.Linear(784, 128)
        x = fw.tensor(np.random.default_rng(0).standard_normal((1, 784)))
        self.call = lambda: layer(x)

    def info(self):
        return {}


class InferenceCase:
    def __init__(self, fw, batch):
        np = fw.np
        layers = MODELS["mlp"]["layers"]
        model = build_model(fw.nn, layers)
        model.load_state_dict(fw.state(initial_weights(layers)))
        model.eval()
        x = fw.tensor(np.random.default_rng(0).standard_normal((batch, 784)))
        no_grad = fw.lib.no_grad

        def call():
            with no_grad():
                return model(x)
        self.call = call
        call()

    def info(self):
        return {}


def make_case(fw, kind, params):
    if kind == "gemm":
        return GemmCase(fw, *params["shape"][1:])
    if kind == "train":
        return TrainCase(fw, params["model"], params["data"], params["warmup"])
    if kind == "tiny_add":
        return TinyAddCase(fw)
    if kind == "linear_b1":
        return LinearB1Case(fw)
    if kind == "inference":
        return InferenceCase(fw, params["batch"])
    raise ValueError(f"unknown case kind {kind!r}")


def serve(framework, threads):
    """Reads one JSON command per line on stdin, answers one JSON line on the original stdout;
    anything the libraries print goes to stderr."""
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    def answer(reply):
        channel.write(json.dumps(reply) + "\n")
        channel.flush()

    try:
        fw = Framework(framework, threads)
    except Exception as error:  # noqa: BLE001 - reported to the parent, which carries on
        answer({"error": f"{type(error).__name__}: {error}"})
        return
    answer({"version": fw.version, "rss_import_mb": max_rss_mb()})
    cases = {}
    for line in sys.stdin:
        message = json.loads(line)
        command = message["cmd"]
        try:
            if command == "quit":
                break
            if command == "prepare":
                case = make_case(fw, message["kind"], message.get("params", {}))
                cases[message["name"]] = case
                calls = message.get("calls") or calls_per_sample(case.call, SAMPLE_SECONDS)
                reply = {"calls": calls, **case.info()}
            elif command == "round":
                case = cases[message["name"]]
                times = timed_round(case.call, message["calls"], message["samples"],
                                    message.get("idle", IDLE_SECONDS))
                reply = {"times": times}
            elif command == "finish":
                case = cases.pop(message["name"])
                reply = case.finish() if hasattr(case, "finish") else {}
                del case
                gc.collect()
            else:
                raise ValueError(f"unknown command {command!r}")
        except Exception as error:  # noqa: BLE001 - e.g. a kernel a backend lacks
            reply = {"error": f"{type(error).__name__}: {error}",
                     "traceback": traceback.format_exc(limit=4)}
        answer(reply)


# --------------------------------------------------------------------------------------------
# Parent side.
# --------------------------------------------------------------------------------------------

SNAPSHOT = None  # folder holding the copy of the cunn package every child imports


def snapshot_cunn(folder, python):
    """Copies the cunn package the children would import (compiled module included) into
    ``folder``: other people rebuilding cunn/_C*.so in the same tree during a run (cp writes
    over the file in place) would otherwise crash a child or mix two builds in one run.
    The package is the one a script finds from outside the repository (an installed cunn,
    or whatever PYTHONPATH names), never the source tree implicitly: after `pip install .`
    that tree has no compiled module."""
    global SNAPSHOT
    code = ("import importlib.util, os; spec = importlib.util.find_spec('cunn'); "
            "print(os.path.dirname(spec.origin) if spec else '')")
    source = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True,
                            cwd=tempfile.gettempdir()).stdout.strip()
    if not source:
        sys.exit(f"{python} cannot import cunn: install it (pip install .) or build it in "
                 "place (bash tools/build_inplace.sh) and set PYTHONPATH to the repository")
    shutil.copytree(source, os.path.join(folder, "cunn"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    SNAPSHOT = folder
    return source


def child_pythonpath(environment):
    return os.pathsep.join(p for p in (SNAPSHOT, environment.get("PYTHONPATH")) if p)


class Child:
    """A framework's process for one workload; ``error`` is set when it could not start."""

    def __init__(self, framework, threads, python):
        environment = thread_environment(threads)
        environment["PYTHONPATH"] = child_pythonpath(environment)
        self.framework = framework
        self.process = subprocess.Popen(
            [python, os.path.abspath(__file__), "--worker", framework, "--threads",
             str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=environment, cwd=tempfile.gettempdir())
        hello = self._read()
        self.error = hello.get("error")
        self.version = hello.get("version")
        self.rss_import_mb = hello.get("rss_import_mb")

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            return {"error": f"child exited with status {self.process.returncode}"}
        return json.loads(line)

    def call(self, command, **fields):
        if self.process.poll() is not None:
            return {"error": "child is not running"}
        try:
            self.process.stdin.write(json.dumps(dict(cmd=command, **fields)) + "\n")
            self.process.stdin.flush()
        except OSError:  # it died between poll and write
            pass
        return self._read()

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def torch_installed(python):
    if python == sys.executable:
        return importlib.util.find_spec("torch") is not None
    code = "import importlib.util,sys; sys.exit(importlib.util.find_spec('torch') is None)"
    return subprocess.run([python, "-c", code]).returncode == 0


def short_error(error):
    first = error.strip().splitlines()[0] if error else "failed"
    return first if len(first) < 90 else first[:87] + "..."


def alternate(children, kind, params, rounds, samples, calls=None, label=""):
    """Runs one case in every child in alternating rounds; returns per-framework results:
    {"rounds": [[seconds per call, one per sample] per round], "median": s, ...what the
    case reports} or {"error": why}."""
    results, active = {}, []
    for name, child in children.items():
        if child.error:
            results[name] = {"error": child.error}
            continue
        reply = child.call("prepare", name=label, kind=kind, params=params, calls=calls)
        if "error" in reply:
            results[name] = {"error": reply["error"]}
            print(f"  [{label}] {name}: unavailable: {short_error(reply['error'])}",
                  file=sys.stderr)
            continue
        results[name] = {"calls": reply.pop("calls"), "rounds": [], **reply}
        active.append(name)
    for round_index in range(rounds):
        shift = round_index % max(len(active), 1)
        for name in active[shift:] + active[:shift]:
            if "error" in results[name]:
                continue
            reply = children[name].call("round", name=label, calls=results[name]["calls"],
                                        samples=samples)
            if "error" in reply:
                results[name] = {"error": reply["error"]}
                print(f"  [{label}] {name}: failed: {short_error(reply['error'])}",
                      file=sys.stderr)
                continue
            results[name]["rounds"].append(reply["times"])
    for name in active:
        if "error" in results[name]:
            continue
        reply = children[name].call("finish", name=label)
        if "error" in reply:
            results[name] = {"error": reply["error"]}
            continue
        results[name].update(reply)
        every = [t for times in results[name]["rounds"] for t in times]
        results[name]["median"] = median(every)
    return results


def round_ratios(results, numerator, denominator):
    """Per round: numerator's round median / denominator's round median."""
    a, b = results.get(numerator, {}), results.get(denominator, {})
    if "rounds" not in a or "rounds" not in b or "median" not in a or "median" not in b:
        return []
    return [median(x) / median(y) for x, y in zip(a["rounds"], b["rounds"])]


def round_ratio(results, numerator, denominator):
    """Median over rounds of (numerator's round median / denominator's round median)."""
    ratios = round_ratios(results, numerator, denominator)
    return median(ratios) if ratios else None


SKIPPED = "skipped"
SELECTED = None  # --frameworks: the frameworks to run (None: all)


def absent(name):
    """Why a framework has no result: left out by --frameworks, or not installed."""
    return SKIPPED if SELECTED is not None and name not in SELECTED else NOT_INSTALLED


def start_children(frameworks, threads, python, have_torch):
    children = {}
    for name in frameworks:
        if name == "torch" and not have_torch:
            continue
        if SELECTED is not None and name not in SELECTED:
            continue
        children[name] = Child(name, threads, python)
    return children


def close_children(children):
    for child in children.values():
        child.close()


# ---- workloads ------------------------------------------------------------------------------

def measure_peak(quick):
    """Single-precision FMA GFLOP/s of one core and of all usable cores at once (best of a few
    tries: a ceiling, so noise only lowers it), or None without a C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    folder = tempfile.mkdtemp(prefix="cunn-bench-")
    binary = os.path.join(folder, "fma_peak")
    try:
        built = subprocess.run([compiler, "-O2", "-o", binary, os.path.join(HERE, "fma_peak.c")],
                               capture_output=True, text=True)
        if built.returncode != 0:
            return None
        iterations = "20000000" if quick else "50000000"
        per_core, isa = 0.0, None
        for _ in range(2 if quick else 4):
            isa, value = subprocess.run([binary, iterations], capture_output=True,
                                        text=True).stdout.split()
            per_core = max(per_core, float(value))
            time.sleep(0.1)
        cores = cpu_counts()["usable"]
        together = 0.0
        for _ in range(1 if quick else 3):
            processes = [subprocess.Popen([binary, iterations], stdout=subprocess.PIPE,
                                          text=True) for _ in range(cores)]
            together = max(together, sum(float(p.communicate()[0].split()[1])
                                         for p in processes))
            time.sleep(0.1)
        return {"isa": isa, "per_core_gflops": per_core, "cores": cores,
                "all_cores_gflops": together}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_gemm(threads, args, python, have_torch):
    shapes = GEMM_SHAPES
    if args.quick:
        shapes = [s for s in GEMM_SHAPES if s[1] * s[2] * s[3] <= 512 ** 3 and "b1024" not in s[0]]
    children = start_children(GEMM_FRAMEWORKS, threads, python, have_torch)
    rows = []
    try:
        for shape in shapes:
            label, m, n, k, trans_a, trans_b = shape
            flops = 2.0 * m * n * k
            # the biggest products take ~0.1 s a call: fewer samples keep a round short
            samples = args.samples if flops < 4e9 else max(2, args.samples // 2)
            results = alternate(children, "gemm", {"shape": shape}, args.repeats, samples,
                                label=label)
            row = {"label": label, "shape": f"{m}x{n}x{k}",
                   "op": ("T" if trans_a else "N") + ("T" if trans_b else "N"),
                   "threads": threads}
            for name in GEMM_FRAMEWORKS:
                result = results.get(name)
                if result is None:
                    row[name] = absent(name)
                elif "error" in result:
                    row[name] = "unavailable: " + short_error(result["error"])
                else:
                    row[name] = flops / result["median"] / 1e9
            # speed ratios: time(other) / time(cunn) > 1 means cunn is faster
            row["cunn_vs_numpy"] = round_ratio(results, "numpy", "cunn")
            row["cunn_vs_torch"] = round_ratio(results, "torch", "cunn")
            rows.append(row)
            print(f"  gemm {label} ({threads} thr) done", file=sys.stderr)
    finally:
        close_children(children)
    return rows


def run_train(model, threads, args, python, have_torch, data_path):
    (steps, warmup), (quick_steps, quick_warmup) = TRAIN_STEPS[model]
    if args.quick:
        steps, warmup = quick_steps, quick_warmup
    if args.steps:
        steps = args.steps
    children = start_children(MODEL_FRAMEWORKS, threads, python, have_torch)
    try:
        results = alternate(children, "train",
                            {"model": model, "data": data_path, "warmup": warmup},
                            args.repeats, samples=1, calls=steps, label=model)
    finally:
        close_children(children)
    row = {"workload": model, "title": MODELS[model]["title"], "threads": threads,
           "steps_per_round": steps, "warmup_steps": warmup, "rounds": args.repeats,
           "basis": ("whole epoch per round" if steps >= STEPS_PER_EPOCH else
                     f"{steps} steps per round, x{STEPS_PER_EPOCH} extrapolated")}
    for name in MODEL_FRAMEWORKS:
        result = results.get(name)
        if result is None:
            row[name] = {"status": absent(name)}
        elif "error" in result:
            row[name] = {"status": "unavailable", "error": result["error"]}
        else:
            step = result["median"]
            row[name] = {"status": "ok", "step_ms": step * 1e3,
                         "epoch_s": step * STEPS_PER_EPOCH,
                         "final_loss": result.get("final_loss"),
                         "steps_trained": result.get("steps_trained"),
                         "rss_data_mb": result.get("rss_data_mb"),
                         "rss_peak_mb": result.get("rss_peak_mb"),
                         "round_epoch_s": [median(r) * STEPS_PER_EPOCH for r in result["rounds"]]}
    row["cunn_vs_numpy"] = round_ratio(results, "cunn-numpy", "cunn")
    row["cunn_vs_torch"] = round_ratio(results, "torch", "cunn")
    row["cunn_vs_numpy_rounds"] = round_ratios(results, "cunn-numpy", "cunn")
    row["cunn_vs_torch_rounds"] = round_ratios(results, "torch", "cunn")
    return row


def run_micro(workload, threads, args, python, have_torch):
    if workload == "overhead":
        cases = [("tiny_add", {}, "a + b, 1-element tensors", "us/op"),
                 ("linear_b1", {}, "Linear(784,128) forward, batch 1", "us/call")]
    else:
        cases = [("inference", {"batch": 1024}, "MLP 784-128-10 inference, batch 1024",
                  "images/s"),
                 ("inference", {"batch": 1}, "MLP 784-128-10 latency, batch 1", "us/call")]
    children = start_children(MODEL_FRAMEWORKS, threads, python, have_torch)
    rows = []
    try:
        for kind, params, title, unit in cases:
            label = f"{kind}{params.get('batch', '')}"
            results = alternate(children, kind, params, args.repeats, args.samples, label=label)
            row = {"workload": workload, "case": label, "title": title, "unit": unit,
                   "threads": threads}
            for name in MODEL_FRAMEWORKS:
                result = results.get(name)
                if result is None:
                    row[name] = absent(name)
                elif "error" in result:
                    row[name] = "unavailable: " + short_error(result["error"])
                elif unit == "images/s":
                    row[name] = params["batch"] / result["median"]
                else:
                    row[name] = result["median"] * 1e6
            row["cunn_vs_numpy"] = round_ratio(results, "cunn-numpy", "cunn")
            row["cunn_vs_torch"] = round_ratio(results, "torch", "cunn")
            rows.append(row)
    finally:
        close_children(children)
    return rows


# the peak RSS read as max_rss_mb reads it, without importing anything more first
IMPORT_CODE = '''import time
t = time.perf_counter()
{stmt}
t = time.perf_counter() - t
try:
    rss = [int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
except (OSError, IndexError):
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(t, rss)
'''
IMPORTS = [("python (nothing)", "pass"),
           ("import numpy", "import numpy"),
           ("import cunn", "import cunn"),
           ("import cunn, cunn.nn, cunn.optim + _C", "import cunn, cunn.nn, cunn.optim; "
            "cunn.ones(1) + cunn.ones(1)"),
           ("import torch", "import torch")]


def run_import(threads, args, python, have_torch):
    """Fresh interpreters, alternating, timing the import inside the process (interpreter
    start-up is not counted; the whole process's wall time is recorded beside it)."""
    environment = thread_environment(threads)
    environment["PYTHONPATH"] = child_pythonpath(environment)
    targets = [t for t in IMPORTS if have_torch or "torch" not in t[1]]
    samples = {label: [] for label, _ in targets}
    repeats = max(3, args.repeats + 2)
    for round_index in range(repeats + 1):
        for label, stmt in targets:
            start = time.perf_counter()
            output = subprocess.run([python, "-c", IMPORT_CODE.format(stmt=stmt)],
                                    capture_output=True, text=True, env=environment,
                                    cwd=tempfile.gettempdir())
            wall = time.perf_counter() - start
            if output.returncode != 0:
                samples[label] = None
                continue
            if round_index and samples[label] is not None:  # round 0 warms the page cache
                seconds, rss = map(float, output.stdout.split())
                samples[label].append((seconds, rss, wall))
    rows = []
    for label, _ in IMPORTS:
        values = samples.get(label)
        if values is None or label not in samples:
            rows.append({"label": label, "status": NOT_INSTALLED if "torch" in label and
                         not have_torch else "failed"})
            continue
        rows.append({"label": label, "status": "ok",
                     "seconds": median([v[0] for v in values]),
                     "rss_mb": median([v[1] for v in values]),
                     "process_seconds": median([v[2] for v in values]),
                     "samples": len(values)})
    return rows


def run_contention(args, python, have_torch):
    """The contention rows (benchmarks/contention.py) with this run's cunn snapshot."""
    frameworks = [name for name in ("cunn", "torch")
                  if (name != "torch" or have_torch) and (not SELECTED or name in SELECTED)]
    return contention.measure(frameworks, rounds=args.repeats, steps=CONTENTION_STEPS,
                              pythonpath=child_pythonpath({}), python=python)


# ---- machine, report ------------------------------------------------------------------------

def run_scaling(args, python, folder):
    """benchmarks/scaling.py in its own processes; "not installed" without mpiexec."""
    beside_python = os.path.join(os.path.dirname(python), "mpiexec")
    if not os.path.exists(beside_python) and shutil.which("mpiexec") is None:
        return {"error": NOT_INSTALLED + ' (pip install "cunn[mpi]")'}
    path = os.path.join(folder, "scaling.json")
    command = [python, os.path.join(HERE, "scaling.py"), "--rounds", str(args.repeats),
               "--json", path]
    if args.quick:
        command += ["--mlp-steps", "100", "--cnn-steps", "10"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return {"error": short_error(lines[-1] if lines else "failed")}
    with open(path) as handle:
        return json.load(handle)


def machine_description(python, threads, peak, source):
    code = r"""
import json, platform, sys
import numpy
info = {"python": platform.python_version(), "implementation": platform.python_implementation(),
        "numpy": numpy.__version__}
try:
    blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
except Exception:
    info["numpy_blas"] = "unknown"
import cunn
from cunn import _C
info.update(cunn=cunn.__version__, cunn_isa=_C.isa(), cunn_cpu_features=_C.cpu_features(),
            cunn_thread_pool=bool(_C.thread_pool_enabled()), cunn_backends=cunn.available_backends())
for name in ("torch", "matplotlib"):
    try:
        module = __import__(name)
        info[name] = module.__version__
    except ImportError:
        info[name] = "not installed"
print(json.dumps(info))
"""
    environment = thread_environment(max(threads))
    environment["PYTHONPATH"] = child_pythonpath(environment)
    output = subprocess.run([python, "-c", code], capture_output=True, text=True,
                            env=environment, cwd=tempfile.gettempdir())
    try:
        info = json.loads(output.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        info = {"error": output.stderr.strip()[-500:]}
    info.update(cpu=cpu_model(), cpu_counts=cpu_counts(), os=platform.platform(),
                python_executable=python, cunn_source=source, threads=threads,
                date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
    if peak:
        info["fma_peak"] = peak
    return info


def fmt(value, digits=1, width=9):
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, str):
        text = "n/inst" if value == NOT_INSTALLED else "unavail" if value.startswith("unav") \
            else value
        return f"{text:>{width}}"
    return f"{value:>{width}.{digits}f}"


def fmt_ratio(value, width=8):
    return f"{'-':>{width}}" if value is None else f"{value:>{width - 1}.2f}x"


def print_report(report, peak_used):
    machine = report["machine"]
    print()
    print(f"cunn benchmarks  {machine['date']}")
    print(f"CPU: {machine['cpu']}  ({machine['cpu_counts']['usable']} usable logical CPUs)   "
          f"cunn {machine.get('cunn')} ISA {machine.get('cunn_isa')}   "
          f"Python {machine.get('python')}   NumPy {machine.get('numpy')} "
          f"({machine.get('numpy_blas')})   torch {machine.get('torch')}")
    print("Ratios are speed ratios, time(other) / time(cunn), median over alternating rounds "
          "(> 1: cunn is faster). n/inst: not installed; unavail: that framework cannot run it "
          "yet.")
    peak = report.get("peak")
    if peak:
        print(f"FMA ceiling (fma_peak.c, {peak['isa']}): {peak['per_core_gflops']:.1f} GFLOP/s "
              f"on one core, {peak['all_cores_gflops']:.1f} on {peak['cores']} at once; "
              f"%peak below uses {peak_used:.1f} GFLOP/s per thread")
    else:
        print(f"%peak below uses {peak_used:.1f} GFLOP/s per thread (stated, not measured)")

    if report.get("gemm"):
        print("\nGEMM, GFLOP/s (median)")
        header = (f"{'product':22} {'M x N x K':>14} {'op':>3} {'thr':>3} {'cunn':>9} "
                  f"{'numpy':>9} {'torch':>9} {'cunn%pk':>8} {'vs numpy':>8} {'vs torch':>8}")
        print(header)
        print("-" * len(header))
        for row in report["gemm"]:
            percent = (100.0 * row["cunn"] / (peak_used * row["threads"])
                       if isinstance(row["cunn"], float) else None)
            print(f"{row['label']:22} {row['shape']:>14} {row['op']:>3} {row['threads']:>3} "
                  f"{fmt(row['cunn'])} {fmt(row['numpy'])} {fmt(row['torch'])} "
                  f"{fmt(percent, 0, 7)}% {fmt_ratio(row['cunn_vs_numpy'])} "
                  f"{fmt_ratio(row['cunn_vs_torch'])}")

    if report.get("train"):
        print("\nTraining on MNIST, batch 64, s/epoch = median step time x 938 "
              "(ms/step in brackets)")
        header = (f"{'workload':38} {'thr':>3} {'cunn':>16} {'cunn-numpy':>17} "
                  f"{'torch':>16} {'vs numpy':>8} {'vs torch':>8}")
        print(header)
        print("-" * len(header))
        for row in report["train"]:
            cells = []
            for name in MODEL_FRAMEWORKS:
                cell = row[name]
                width = 17 if name == "cunn-numpy" else 16
                if cell["status"] == "ok":
                    text = f"{cell['epoch_s']:.2f} ({cell['step_ms']:.2f})"
                elif cell["status"] in (NOT_INSTALLED, SKIPPED):
                    text = cell["status"]
                else:
                    text = "unavailable"
                cells.append(f"{text:>{width}}")
            print(f"{row['title']:38} {row['threads']:>3} {' '.join(cells)} "
                  f"{fmt_ratio(row['cunn_vs_numpy'])} {fmt_ratio(row['cunn_vs_torch'])}")
        print("  basis, final loss (mean over the last round's steps; identical init and "
              "batches), max RSS MB (after data / after training):")
        for row in report["train"]:
            parts = []
            for name in MODEL_FRAMEWORKS:
                cell = row[name]
                if cell["status"] == "ok":
                    parts.append(f"{name} {cell['final_loss']:.4f} "
                                 f"({cell['rss_data_mb']:.0f}/{cell['rss_peak_mb']:.0f} MB)")
                elif cell["status"] not in (NOT_INSTALLED, SKIPPED):
                    parts.append(f"{name} unavailable: {short_error(cell.get('error'))}")
            print(f"  {row['workload']:5} {row['threads']}t  {row['basis']}, "
                  f"{row['steps_per_round']}x{row['rounds']} rounds after "
                  f"{row['warmup_steps']} warm-up: " + "; ".join(parts))

    if report.get("micro"):
        print("\nOverhead and inference (median)")
        header = (f"{'case':38} {'unit':>8} {'thr':>3} {'cunn':>10} {'cunn-numpy':>10} "
                  f"{'torch':>10} {'vs numpy':>8} {'vs torch':>8}")
        print(header)
        print("-" * len(header))
        for row in report["micro"]:
            digits = 0 if row["unit"] == "images/s" else 1
            print(f"{row['title']:38} {row['unit']:>8} {row['threads']:>3} "
                  f"{fmt(row['cunn'], digits, 10)} {fmt(row['cunn-numpy'], digits, 10)} "
                  f"{fmt(row['torch'], digits, 10)} {fmt_ratio(row['cunn_vs_numpy'])} "
                  f"{fmt_ratio(row['cunn_vs_torch'])}")

    if report.get("import"):
        print("\nImport in a fresh process (median; time inside the process, then the whole "
              "process's wall time)")
        header = f"{'statement':40} {'seconds':>8} {'max RSS MB':>10} {'process s':>9}"
        print(header)
        print("-" * len(header))
        for row in report["import"]:
            if row["status"] != "ok":
                print(f"{row['label']:40} {row['status']:>8}")
                continue
            print(f"{row['label']:40} {row['seconds']:8.3f} {row['rss_mb']:10.1f} "
                  f"{row['process_seconds']:9.3f}")


def print_scaling(scaling):
    print("\nScaling (s/epoch, same global batch 64): 1 process x 2 threads vs 2 MPI "
          "processes x 1 thread")
    if "error" in scaling:
        print(f"  {scaling['error']}")
        return
    for kind, row in scaling.items():
        low, high = row["speedup_range"]
        print(f"  {kind:5} {fmt(row['1x2_epoch_seconds'], 2)} {fmt(row['2x1_epoch_seconds'], 2)}"
              f"  2 processes {row['speedup']:.2f}x as fast (rounds {low:.2f}-{high:.2f}x)")


def bars(report):
    """The project's bars, at 2 threads: (name, verdict, detail)."""
    out = []

    def train_row(workload):
        for row in report.get("train", []):
            if row["workload"] == workload and row["threads"] == 2:
                return row
        return None

    def check(name, value, threshold, unit_text, rounds=()):
        if value is None:
            return (name, "n/a", unit_text + ")")
        # unit_text opens a bracket that this closes, after the per-round spread
        spread = (f"; rounds {min(rounds):.2f}-{max(rounds):.2f}x, "
                  f"{sum(r >= threshold for r in rounds)} of {len(rounds)} at the bar"
                  if rounds else "")
        return (name, "PASS" if value >= threshold else "MISS",
                f"{value:.2f}x {unit_text}{spread})")

    titles = {"mlp": "MLP 784-128-10 + Adam", "cnn": "CNN", "lenet": "LeNet+BatchNorm"}
    for workload, versus_numpy, versus_torch in (("mlp", 3.0, 1.0), ("cnn", 5.0, 0.7),
                                                 ("lenet", None, 1.5)):
        row = train_row(workload)
        title = titles[workload]
        if versus_numpy is None:  # no NumPy-backend bar: check only PyTorch's
            if row is None or row["cunn"]["status"] != "ok" or \
                    row["torch"]["status"] != "ok":
                out.append((f"{title}: >= {versus_torch:g}x PyTorch's speed", "n/a",
                            "not measured side by side at 2 threads"))
            else:
                out.append(check(f"{title}: >= {versus_torch:g}x PyTorch's speed",
                                 row["cunn_vs_torch"], versus_torch,
                                 f"(torch {row['torch']['epoch_s']:.2f} s/epoch",
                                 row.get("cunn_vs_torch_rounds", ())))
            continue
        if row is None:
            out.append((f"{title}: >= {versus_numpy:g}x NumPy backend", "n/a",
                        "not measured at 2 threads"))
            out.append((f"{title}: >= {versus_torch:g}x PyTorch's speed", "n/a",
                        "not measured at 2 threads"))
            continue
        if row["cunn"]["status"] == SKIPPED:
            out.append((f"{title}: >= {versus_numpy:g}x NumPy backend", "n/a", "cunn skipped"))
            out.append((f"{title}: >= {versus_torch:g}x PyTorch's speed", "n/a", "cunn skipped"))
            continue
        if row["cunn"]["status"] != "ok":
            why = "cunn cannot run it yet: " + short_error(row["cunn"].get("error"))
            out.append((f"{title}: >= {versus_numpy:g}x NumPy backend", "MISS", why))
            out.append((f"{title}: >= {versus_torch:g}x PyTorch's speed", "MISS", why))
            continue
        out.append(check(f"{title}: >= {versus_numpy:g}x NumPy backend", row["cunn_vs_numpy"],
                         versus_numpy, f"(cunn {row['cunn']['epoch_s']:.2f} s/epoch, NumPy "
                         f"backend {row['cunn-numpy'].get('epoch_s', float('nan')):.2f}",
                         row.get("cunn_vs_numpy_rounds", ())))
        if row["torch"]["status"] in (NOT_INSTALLED, SKIPPED):
            out.append((f"{title}: >= {versus_torch:g}x PyTorch's speed", "n/a",
                        f"PyTorch {row['torch']['status']}"))
        else:
            out.append(check(f"{title}: >= {versus_torch:g}x PyTorch's speed",
                             row["cunn_vs_torch"], versus_torch,
                             f"(torch {row['torch'].get('epoch_s', float('nan')):.2f} s/epoch",
                             row.get("cunn_vs_torch_rounds", ())))
    imports = {row["label"]: row for row in report.get("import", [])}
    cunn_import = imports.get("import cunn")
    if cunn_import is None or cunn_import["status"] != "ok":
        out.append(("import cunn < 0.2 s", "n/a", "not measured"))
        out.append(("import cunn < 60 MB resident", "n/a", "not measured"))
    else:
        seconds, rss = cunn_import["seconds"], cunn_import["rss_mb"]
        out.append(("import cunn < 0.2 s", "PASS" if seconds < 0.2 else "MISS",
                    f"{seconds:.3f} s"))
        out.append(("import cunn < 60 MB resident", "PASS" if rss < 60 else "MISS",
                    f"{rss:.1f} MB max RSS"))
    return out


def write_png(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"--png {path}: matplotlib is not installed; no chart written")
        return False
    panels = [p for p in ("train", "gemm", "micro") if report.get(p)]
    if not panels:
        return False
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    axes = axes[0]
    colours = {"cunn": "tab:blue", "cunn-numpy": "tab:orange", "numpy": "tab:orange",
               "torch": "tab:red"}
    threads = max(report["machine"]["threads"])
    for axis, panel in zip(axes, panels):
        if panel == "train":
            # time relative to cunn's (linear axis; the absolute s/epoch written on each bar)
            rows = [r for r in report["train"] if r["threads"] == threads
                    and r["cunn"]["status"] == "ok"]
            for offset, name in enumerate(MODEL_FRAMEWORKS):
                positions = [i + (offset - 1) * 0.27 for i in range(len(rows))]
                values = [r[name]["epoch_s"] / r["cunn"]["epoch_s"]
                          if r[name]["status"] == "ok" else 0.0 for r in rows]
                bars_drawn = axis.bar(positions, values, width=0.27, label=name,
                                      color=colours[name])
                for bar, row in zip(bars_drawn, rows):
                    if row[name]["status"] == "ok":
                        axis.annotate(f"{row[name]['epoch_s']:.2f}s",
                                      (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                                      ha="center", va="bottom", fontsize=7)
            axis.set_xticks(range(len(rows)), [r["workload"] for r in rows])
            axis.set(ylabel="time per epoch / cunn's",
                     title=f"MNIST training, batch 64, {threads} threads")
        elif panel == "gemm":
            rows = [r for r in report["gemm"] if r["threads"] == threads
                    and r["label"].startswith("square")]
            sizes = [int(r["label"].split()[1]) for r in rows]
            for name in GEMM_FRAMEWORKS:
                values = [r[name] if isinstance(r[name], float) else float("nan") for r in rows]
                axis.plot(sizes, values, marker="o", label=name, color=colours[name])
            peak_line = report.get("peak_used_gflops_per_thread")
            if peak_line:
                axis.axhline(peak_line * threads, color="grey", linestyle=":",
                             label="FMA peak")
            axis.set_xscale("log", base=2)
            axis.set(xlabel="n (n x n x n)", ylabel="GFLOP/s",
                     title=f"square SGEMM, {threads} threads")
        else:
            rows = [r for r in report["micro"] if r["threads"] == threads
                    and r["unit"] != "images/s"]
            for offset, name in enumerate(MODEL_FRAMEWORKS):
                values = [r[name] if isinstance(r[name], float) else 0.0 for r in rows]
                positions = [i + (offset - 1) * 0.27 for i in range(len(rows))]
                axis.bar(positions, values, width=0.27, label=name, color=colours[name])
            axis.set_xticks(range(len(rows)), [r["case"] for r in rows])
            axis.set(ylabel="microseconds per call", title="per-call overhead")
        axis.legend()
        axis.grid(alpha=0.3)
    figure.suptitle(f"cunn benchmarks: {report['machine']['cpu']}, {report['machine']['date']}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def prepare_data(root, folder, python):
    """MNIST training images in one fixed permutation, written once for every child (by a
    child: the parent stays small, holding no NumPy and no data)."""
    path = os.path.join(folder, "mnist_train")
    environment = dict(os.environ)
    environment["PYTHONPATH"] = child_pythonpath(environment)
    command = [python, os.path.abspath(__file__), "--prepare-data", path]
    if root:
        command += ["--data", os.path.abspath(root)]
    subprocess.run(command, check=True, env=environment, cwd=tempfile.gettempdir())
    return path


def write_data(root, path):
    import numpy as np

    from cunn.data import mnist

    (images, labels), _ = mnist.load(root, download=root is None)
    permutation = np.random.default_rng(0).permutation(len(images))
    x = images[permutation].reshape(len(images), -1).astype(np.float32)
    x *= 1.0 / 255.0
    x -= MNIST_MEAN
    x /= MNIST_STD
    # .npy files: a child's np.load reads straight into one array, no transient copy, so its
    # peak RSS is the data (188 MB float32) plus what the framework itself uses
    np.save(path + "_x.npy", x)
    np.save(path + "_y.npy", labels[permutation].astype(np.int64))


def print_results(report):
    """The tables and the bars of a run, measured now or loaded from its JSON."""
    print_report(report, report["peak_used_gflops_per_thread"])
    if "scaling" in report:
        print_scaling(report["scaling"])
    if report.get("contention"):
        print("\nBusy machine (benchmarks/contention.py, in this run):")
        contention.print_report(report["contention"], CONTENTION_STEPS)
    print("\nBars (2 threads, measured side by side in this run):")
    for bar in report["bars"]:
        print(f"  {bar['verdict']:4}  {bar['bar']:42} {bar['detail']}")
    print(f"\n({report['seconds']:.0f} s)")


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Run with PYTHONPATH at the repository root; for the PyTorch columns use a "
               "Python that has torch installed (e.g. a separate venv).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", nargs="+", default=list(ALL_WORKLOADS),
                        metavar="NAME", help="subset of: " + " ".join(ALL_WORKLOADS) +
                        " (train = mlp mlp3 cnn lenet)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=None,
                        help="alternating rounds per measurement (default 5, --quick 2)")
    parser.add_argument("--samples", type=int, default=None,
                        help="timed samples per round for GEMM and micro cases (default 5)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per round (default: a whole epoch for the MLPs, "
                             "25 for the CNN)")
    parser.add_argument("--frameworks", nargs="+", default=None, metavar="NAME",
                        help="run only these of: cunn cunn-numpy numpy torch (default: all; "
                             "numpy is plain NumPy matmul, for GEMM)")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--data", default=None,
                        help="folder holding the MNIST IDX files (default $CUNN_DATA/mnist)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for the children (default: this one)")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"),
                        help="where to write the results (default: results/latest.json)")
    parser.add_argument("--png", default=None,
                        help="also draw the results as a chart there (needs matplotlib)")
    parser.add_argument("--report", default=None, metavar="JSON",
                        help="print the tables of a saved run (and draw it with --png) "
                             "instead of measuring")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--prepare-data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is None and args.prepare_data is None:
        workloads = []
        for name in args.workloads:
            for item in ALIASES.get(name, (name,)):
                if item not in ALL_WORKLOADS:
                    parser.error(f"--workloads: unknown workload {item!r}; choose from "
                                 + ", ".join(ALL_WORKLOADS) + ", train")
                if item not in workloads:
                    workloads.append(item)
        args.workloads = workloads
        for name in args.frameworks or ():
            if name not in MODEL_FRAMEWORKS + GEMM_FRAMEWORKS:
                parser.error(f"--frameworks: unknown framework {name!r}")
        if any(t < 1 for t in args.threads):
            parser.error("--threads: counts must be >= 1")
        args.repeats = args.repeats or (2 if args.quick else 5)
        args.samples = args.samples or (3 if args.quick else 5)
    return args


def main():
    args = parse_args()
    if args.worker is not None:
        serve(args.worker, args.threads[0])
        return
    if args.prepare_data is not None:
        write_data(args.data, args.prepare_data)
        return
    if args.report is not None:
        with open(args.report) as handle:
            report = json.load(handle)
        print_results(report)
        if args.png and write_png(report, args.png):
            print(f"chart written to {args.png}")
        return
    global SELECTED
    SELECTED = args.frameworks
    python = args.python
    have_torch = torch_installed(python)
    started = time.perf_counter()
    folder = tempfile.mkdtemp(prefix="cunn-bench-")
    try:
        source = snapshot_cunn(os.path.join(folder, "snapshot"), python)
        print(f"cunn from {source} (copied for this run)", file=sys.stderr)
        if not have_torch:
            print(f"PyTorch is not installed for {python}: its columns say 'not installed'",
                  file=sys.stderr)
        peak = measure_peak(args.quick) if "peak" in args.workloads else None
        peak_used = peak["per_core_gflops"] if peak else NOMINAL_PEAK
        report = {"machine": machine_description(python, args.threads, peak, source),
                  "options": {k: v for k, v in vars(args).items()
                              if k not in ("worker", "prepare_data")},
                  "peak": peak, "peak_used_gflops_per_thread": peak_used, "load": []}
        data_path = None
        if any(w in MODELS for w in args.workloads):
            data_path = prepare_data(args.data, folder, python)
        for threads in args.threads:
            for workload in args.workloads:
                if workload in ("peak", "import", "scaling", "contention"):
                    continue
                print(f"[{time.perf_counter() - started:6.0f} s] {workload}, {threads} "
                      f"thread(s)", file=sys.stderr)
                with OthersMeter() as others:
                    if workload == "gemm":
                        report.setdefault("gemm", []).extend(
                            run_gemm(threads, args, python, have_torch))
                    elif workload in MODELS:
                        report.setdefault("train", []).append(
                            run_train(workload, threads, args, python, have_torch, data_path))
                    else:
                        report.setdefault("micro", []).extend(
                            run_micro(workload, threads, args, python, have_torch))
                report["load"].append({"workload": workload, "threads": threads,
                                       "others_fraction": others.fraction,
                                       "loadavg_1min": os.getloadavg()[0]})
                if others.fraction is not None:
                    print(f"  other processes used {100 * others.fraction:.0f}% of the "
                          f"machine's CPU time meanwhile", file=sys.stderr)
        if "import" in args.workloads:
            print(f"[{time.perf_counter() - started:6.0f} s] import", file=sys.stderr)
            report["import"] = run_import(max(args.threads), args, python, have_torch)
        if "scaling" in args.workloads:
            print(f"[{time.perf_counter() - started:6.0f} s] scaling", file=sys.stderr)
            report["scaling"] = run_scaling(args, python, folder)
        if "contention" in args.workloads:
            print(f"[{time.perf_counter() - started:6.0f} s] contention", file=sys.stderr)
            report["contention"] = run_contention(args, python, have_torch)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report["bars"] = [dict(zip(("bar", "verdict", "detail"), b)) for b in bars(report)]
    report["seconds"] = time.perf_counter() - started
    print_results(report)
    busy = [entry for entry in report["load"]
            if (entry["others_fraction"] or 0.0) > BUSY_FRACTION]
    if busy:
        print(f"warning: other processes used more than {100 * BUSY_FRACTION:.0f}% of the "
              f"machine during {len(busy)} of {len(report['load'])} workloads (" +
              ", ".join(f"{e['workload']} {e['threads']}t {100 * e['others_fraction']:.0f}%"
                        for e in busy) +
              "): ratios hold up better than absolute figures (multi-threaded runs suffer "
              "most: a barrier waits for the preempted thread), but rerun on a quiet machine "
              "for figures to quote")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)
        print(f"JSON written to {args.json}")
    if args.png:
        os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
        if write_png(report, args.png):
            print(f"chart written to {args.png}")


if __name__ == "__main__":
    main()

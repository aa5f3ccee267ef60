"""Training on a busy machine: the MLP's 300 steps alone, beside a CPU-bound competitor, and
two trainings at once against one after the other; cunn and PyTorch side by side in one run.

    PYTHONPATH=. python benchmarks/contention.py [--rounds 5] [--steps 300]
                                                 [--frameworks cunn torch] [--baseline PATH]

The model is the 784-128-10 MLP with Adam(lr 1e-3) at batch 64 on fixed random inputs (the
speed does not depend on the values). Every training runs in a persistent child process (one
per framework and thread setting, plus a second default-threads child for the pair), which
builds its model once and then trains `--steps` steps whenever the parent says go, reporting
its start and end on the system-wide monotonic clock. Per round, in a rotating order:
  alone       default threads (all usable cores), and --threads 1;
  competitor  the same two while one extra process spins on the CPU (a busy loop);
  pair        two default-threads children told go at once: the time from the first start
              to the last end, against the two alone times added (one after the other).
Ratios are taken per round and their median printed, so a burst of load from other processes
moves both sides of a ratio alike. Bars (issue 15): competitor default / competitor 1 thread
at most 1.5; pair / sequential at most 1.3. `--baseline PATH` adds the same rows for a cunn
found at PATH (a copy of another build's package folder's parent), for an A/B in one run.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
GAP_SECONDS = 0.2  # lets the previous run's spinning threads (ours, OpenMP's) go to sleep
BARS = {"competitor": 1.5, "pair": 1.3}


# ---- child side -----------------------------------------------------------------------------

def cunn_trainer(threads):
    import numpy as np
    import cunn
    import cunn.nn as nn
    import cunn.optim as optim

    if threads:
        cunn.set_num_threads(threads)
    cunn.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    batches = [(cunn.tensor(rng.standard_normal((64, 784), dtype=np.float32)),
                cunn.tensor(rng.integers(0, 10, 64))) for _ in range(16)]

    def step(index):
        inputs, labels = batches[index % len(batches)]
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, cunn.get_num_threads()


def torch_trainer(threads):
    import torch

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    batches = [(torch.randn(64, 784, generator=generator),
                torch.randint(0, 10, (64,), generator=generator)) for _ in range(16)]

    def step(index):
        inputs, labels = batches[index % len(batches)]
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, torch.get_num_threads()


def serve(framework, threads, steps):
    """Child: build the model, warm up, then train `steps` steps per line read on stdin."""
    make = torch_trainer if framework == "torch" else cunn_trainer
    step, actual_threads = make(threads)
    for index in range(20):
        step(index)
    print(json.dumps({"ready": True, "threads": actual_threads}), flush=True)
    for _ in sys.stdin:
        start = time.monotonic()
        for index in range(steps):
            step(index)
        print(json.dumps({"start": start, "end": time.monotonic()}), flush=True)


# ---- parent side ----------------------------------------------------------------------------

class Child:
    def __init__(self, framework, threads, steps, pythonpath, python):
        environment = dict(os.environ)
        for name in THREAD_VARIABLES:
            environment.pop(name, None)  # "default threads" means the library's own default
        environment["PYTHONPATH"] = pythonpath
        command = [python, os.path.abspath(__file__), "--serve",
                   "torch" if framework == "torch" else "cunn", "--threads", str(threads),
                   "--steps", str(steps)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=environment, cwd=ROOT)
        self.threads = json.loads(self.process.stdout.readline())["threads"]

    def go(self):
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("benchmark child exited early")
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)


class Competitor:
    """One process spinning on the CPU for as long as the block lasts."""

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def timed(children):
    time.sleep(GAP_SECONDS)
    for child in children:
        child.go()
    results = [child.result() for child in children]
    return max(r["end"] for r in results) - min(r["start"] for r in results)


def measure_round(group, alone_only=False):
    alone_default = timed([group["default"]])
    alone_second = timed([group["second"]])
    alone_one = timed([group["one"]])
    if alone_only:
        nan = float("nan")
        return {"alone_default": alone_default, "alone_one": alone_one,
                "competitor_default": nan, "competitor_one": nan, "pair": nan,
                "sequential": alone_default + alone_second}
    with Competitor():
        competitor_default = timed([group["default"]])
        competitor_one = timed([group["one"]])
    pair = timed([group["default"], group["second"]])
    return {"alone_default": alone_default, "alone_one": alone_one,
            "competitor_default": competitor_default, "competitor_one": competitor_one,
            "pair": pair, "sequential": alone_default + alone_second}


def summarize(rounds):
    median = statistics.median
    row = {key: median(r[key] for r in rounds) for key in rounds[0]}
    row["competitor_ratio"] = median(r["competitor_default"] / r["competitor_one"]
                                     for r in rounds)
    row["pair_ratio"] = median(r["pair"] / r["sequential"] for r in rounds)
    row["rounds"] = len(rounds)
    row["per_round"] = rounds
    return row


def measure(frameworks=("cunn", "torch"), rounds=5, steps=300, baseline=None, pythonpath=ROOT,
            python=sys.executable, alone_only=False):
    """Runs the rounds and returns {label: summary row}; labels missing a library are skipped.
    The children import cunn from `pythonpath` and run under `python`."""
    sources = []
    for framework in frameworks:
        if framework == "torch":
            try:
                import importlib.util
                if importlib.util.find_spec("torch") is None:
                    print("PyTorch is not installed: its rows are skipped", file=sys.stderr)
                    continue
            except ImportError:
                continue
        sources.append((framework, framework, pythonpath))
    if baseline:
        sources.append(("cunn-baseline", "cunn", os.path.abspath(baseline)))
    groups = {}
    try:
        for label, framework, path in sources:
            groups[label] = {name: Child(framework, threads, steps, path, python)
                             for name, threads in (("default", 0), ("second", 0), ("one", 1))}
        results = {label: [] for label in groups}
        labels = list(groups)
        for round_index in range(rounds):
            shift = round_index % len(labels)
            for label in labels[shift:] + labels[:shift]:
                results[label].append(measure_round(groups[label], alone_only))
        report = {}
        for label, group in groups.items():
            report[label] = summarize(results[label])
            report[label]["default_threads"] = group["default"].threads
        return report
    finally:
        for group in groups.values():
            for child in group.values():
                child.close()


def print_report(report, steps):
    print(f"MLP 784-128-10 + Adam, batch 64, {steps} steps; seconds are medians over rounds; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at the end")
    header = (f"{'':14} {'threads':>7} {'alone':>7} {'alone 1t':>8} {'compet.':>7} "
              f"{'comp. 1t':>8} {'ratio':>6} {'pair':>7} {'sequent.':>8} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for label, row in report.items():
        print(f"{label:14} {row['default_threads']:7} {row['alone_default']:7.3f} "
              f"{row['alone_one']:8.3f} {row['competitor_default']:7.3f} "
              f"{row['competitor_one']:8.3f} {row['competitor_ratio']:6.2f} "
              f"{row['pair']:7.3f} {row['sequential']:8.3f} {row['pair_ratio']:6.2f}")
    print("ratio (compet.): default threads / 1 thread, both beside one busy-loop process "
          f"(bar: at most {BARS['competitor']}); ratio (pair): two trainings at once / one after "
          f"the other (bar: at most {BARS['pair']})")
    if "cunn" in report and not math.isnan(report["cunn"]["competitor_ratio"]):  # --alone-only
        row = report["cunn"]
        for name, key in (("competitor", "competitor_ratio"), ("pair", "pair_ratio")):
            verdict = "PASS" if row[key] <= BARS[name] else "FAIL"
            print(f"  {verdict}  cunn {name}: {row[key]:.2f} (bar {BARS[name]})")
    if "cunn" in report and "cunn-baseline" in report:
        for key, name in (("alone_default", "default threads"), ("alone_one", "1 thread")):
            ratios = sorted(new[key] / old[key] for new, old in
                            zip(report["cunn"]["per_round"], report["cunn-baseline"]["per_round"]))
            print(f"  alone, {name}: this build's time / the baseline's: median "
                  f"{statistics.median(ratios):.3f} over rounds (range {ratios[0]:.3f} to "
                  f"{ratios[-1]:.3f})")


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rounds", type=int, default=5)
    options.add_argument("--steps", type=int, default=300)
    options.add_argument("--frameworks", nargs="+", default=["cunn", "torch"],
                         choices=["cunn", "torch"])
    options.add_argument("--baseline", default=None,
                         help="folder holding another build's cunn package, timed alongside")
    options.add_argument("--alone-only", action="store_true",
                         help="only the alone rows (an idle-speed A/B with --baseline)")
    options.add_argument("--json", default=None, help="also write the figures here")
    options.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    options.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.serve:
        serve(args.serve, args.threads, args.steps)
        return
    report = measure(args.frameworks, args.rounds, args.steps, args.baseline,
                     alone_only=args.alone_only)
    print_report(report, args.steps)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)


if __name__ == "__main__":
    main()

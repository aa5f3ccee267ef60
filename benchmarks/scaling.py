"""Scaling out on one machine: the MNIST MLP and CNN epoch with one process using every core
against one MPI process per core (DistributedDataParallel), at the same global batch of 64.

    python benchmarks/scaling.py [--rounds 3] [--mlp-steps 300] [--cnn-steps 30] [--json PATH]

Needs the mpi extra (pip install "cunn[mpi]"), which puts mpiexec beside python. Each
configuration runs in fresh processes: "1 x 2" is one process with 2 kernel threads and
batch 64; "2 x 1" is mpiexec -n 2 with 1 thread each and batch 32 per rank, gradients averaged
over MPI every step. The two alternate for --rounds rounds; each round times --*-steps steps
after 5 warm-up steps (synthetic MNIST-shaped data: data loading is not measured) and reports
the median step time; an epoch is 938 steps. Ratios above 1 mean two processes are faster.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS_PER_EPOCH = 938
WARMUP_STEPS = 5
GLOBAL_BATCH = 64


def build(kind):
    import cunn.nn as nn
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def child(kind, steps, threads, distributed):
    """Times ``steps`` training steps in this process (one rank when ``distributed``)."""
    import numpy as np

    import cunn
    import cunn.nn as nn
    import cunn.optim as optim
    cunn.set_num_threads(threads)
    cunn.manual_seed(0)
    model, rank, size = build(kind), 0, 1
    if distributed:
        import cunn.distributed as dist
        from cunn.nn.parallel import DistributedDataParallel
        dist.init_process_group("mpi")
        rank, size = dist.get_rank(), dist.get_world_size()
        model = DistributedDataParallel(model)
    batch = GLOBAL_BATCH // size
    rng = np.random.default_rng(rank)
    images = rng.standard_normal((16, batch, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, (16, batch)).astype(np.int64)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for step in range(WARMUP_STEPS + steps):
        if distributed and step == WARMUP_STEPS:
            dist.barrier()
        started = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(images[step % 16]), labels[step % 16]).backward()
        optimizer.step()
        if step >= WARMUP_STEPS:
            times.append(time.perf_counter() - started)
    if rank == 0:
        print(json.dumps({"step_seconds": statistics.median(times)}), flush=True)


def launcher():
    beside_python = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside_python if os.path.exists(beside_python) else shutil.which("mpiexec")


def timed(kind, steps, processes):
    environment = dict(os.environ, OMP_NUM_THREADS=str(2 // processes))
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, "--steps",
               str(steps), "--threads", str(2 // processes)]
    if processes > 1:
        command = [launcher(), "-n", str(processes)] + command + ["--distributed"]
    result = subprocess.run(command, capture_output=True, text=True, env=environment,
                            timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["step_seconds"]


def measure(rounds, steps_by_kind):
    """{kind: {"1x2": s/epoch, "2x1": s/epoch, "speedup": ratio}} from alternating rounds."""
    report = {}
    for kind, steps in steps_by_kind.items():
        single, pair, ratios = [], [], []
        for round_index in range(rounds):
            order = (1, 2) if round_index % 2 == 0 else (2, 1)
            result = {processes: timed(kind, steps, processes) for processes in order}
            single.append(result[1])
            pair.append(result[2])
            ratios.append(result[1] / result[2])
        report[kind] = {"1x2_epoch_seconds": statistics.median(single) * STEPS_PER_EPOCH,
                        "2x1_epoch_seconds": statistics.median(pair) * STEPS_PER_EPOCH,
                        "speedup": statistics.median(ratios),
                        "speedup_range": [min(ratios), max(ratios)]}
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mlp-steps", type=int, default=300)
    parser.add_argument("--cnn-steps", type=int, default=30)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--child", choices=("mlp", "cnn"), help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--distributed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps, args.threads, args.distributed)
        return
    if launcher() is None:
        sys.exit('scaling: no mpiexec found; pip install "cunn[mpi]"')
    report = measure(args.rounds, {"mlp": args.mlp_steps, "cnn": args.cnn_steps})
    print(f"{'model':6} {'1 proc x 2 threads':>20} {'2 procs x 1 thread':>20} {'speed-up':>10}")
    for kind, row in report.items():
        low, high = row["speedup_range"]
        print(f"{kind:6} {row['1x2_epoch_seconds']:17.2f} s {row['2x1_epoch_seconds']:17.2f} s "
              f"{row['speedup']:9.2f}x  (rounds {low:.2f}-{high:.2f}x)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()

"""What the benchmark scripts share: the machine's description, thread environments for child
processes, and the timing loop (alternating rounds with an idle gap, medians).

Method (from bench_gemm.py, where it was worked out): a BLAS or OpenMP runtime reads its thread
count once, when it starts, so every measurement runs in a child process started with
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS set. Libraries are timed in
alternating rounds; each round first lets the other library's worker threads go idle (OpenBLAS's
keep spinning for about 0.1 s after a call, and a spinning pool steals a core from the one being
timed), makes one untimed call to wake its own pool, then times a few samples. Values are
medians; a ratio is the median over rounds of the per-round ratio, which stays stable when other
processes load a shared machine in bursts.
"""
import os
import platform
import statistics
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
IDLE_SECONDS = 0.15
SAMPLE_SECONDS = 3e-3


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_counts():
    """Logical CPUs visible, usable by this process, and physical cores per socket."""
    counts = {"logical": os.cpu_count()}
    try:
        counts["usable"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        counts["usable"] = os.cpu_count()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("cpu cores"):
                    counts["cores_per_socket"] = int(line.split(":", 1)[1])
                    break
    except (OSError, ValueError):
        pass
    return counts


def machine_busy_seconds():
    """CPU seconds the whole machine has spent busy since boot (every process, plus time the
    hypervisor stole), from /proc/stat; None where there is no /proc/stat."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, fields[:8])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    """CPU seconds used by this process and its finished (waited-for) children."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


class OthersMeter:
    """How much of the machine other processes used while a block ran: busy CPU time of the
    whole machine minus our own (children included once they have been waited for), as a
    fraction of wall time x usable CPUs."""

    def __enter__(self):
        self.start = (time.perf_counter(), machine_busy_seconds(), own_cpu_seconds())
        return self

    def __exit__(self, *exc_info):
        wall0, busy0, own0 = self.start
        wall, busy, own = time.perf_counter() - wall0, machine_busy_seconds(), own_cpu_seconds()
        if busy is None or busy0 is None or wall <= 0:
            self.fraction = None
            return
        cpus = cpu_counts()["usable"] or 1
        self.fraction = max(0.0, ((busy - busy0) - (own - own0)) / (wall * cpus))


def thread_environment(threads, base=None):
    """A copy of the environment with every thread-count variable set to ``threads``."""
    environment = dict(os.environ if base is None else base)
    for name in THREAD_VARIABLES:
        environment[name] = str(threads)
    return environment


def seconds_per_call(function, calls):
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def calls_per_sample(function, target=SAMPLE_SECONDS, probe=3):
    """How many calls make a sample of about ``target`` seconds (at least one)."""
    return max(1, int(target / max(seconds_per_call(function, probe), 1e-9)))


def timed_round(function, calls, samples, idle=IDLE_SECONDS):
    time.sleep(idle)  # the other library's pool stops spinning
    function()        # wakes this library's pool
    return [seconds_per_call(function, calls) for _ in range(samples)]


def median(values):
    return float(statistics.median(values)) if values else float("nan")


def worker_results(script, worker, thread_counts, rounds, samples):
    """Runs ``script --worker N`` in a child per thread count (with thread_environment set)
    or, in such a child, ``worker(threads, rounds, samples)``; returns the list of results,
    or None when this process was the child (it has printed its result as JSON)."""
    import argparse
    import json
    import subprocess
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", type=int)
    known, _ = parser.parse_known_args()
    if known.worker is not None:
        print(json.dumps(worker(known.worker, rounds, samples)))
        return None
    results = []
    for threads in thread_counts:
        output = subprocess.run(
            [sys.executable, os.path.abspath(script), "--worker", str(threads),
             "--rounds", str(rounds), "--samples", str(samples)],
            env=thread_environment(threads), check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    return results

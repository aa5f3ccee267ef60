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

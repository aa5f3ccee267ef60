"""The kernels' thread pool (csrc/dispatch/parallel.cpp): every item run exactly once, results
bit-identical whatever the thread count, exceptions on worker threads raised in Python, and no
hang in a forked child."""
import os

import numpy as np
import pytest

import cunn
import cunn.nn.functional as F
import cunn.optim as optim
from cunn import _C

from python_process import run_python

THREAD_COUNTS = (1, 2, 3, 8)


@pytest.fixture
def restore_threads():
    saved = _C.get_num_threads()
    yield
    _C.set_num_threads(saved)


# AddressSanitizer (tools/sanitize.sh) reserves terabytes of shadow address space and serves
# malloc itself: under an RLIMIT_AS its allocator stalls instead of failing. The plain build
# runs these tests in the main CI pytest.
needs_plain_malloc = pytest.mark.skipif(
    "libasan" in os.environ.get("LD_PRELOAD", ""),
    reason="RLIMIT_AS tests need the ordinary allocator, not AddressSanitizer's")


@pytest.mark.parametrize("threads", THREAD_COUNTS)
@pytest.mark.parametrize("count, grain", [(1, 1), (2, 1), (7, 1), (8, 1), (1000, 1), (1000, 7),
                                          (1000, 999), (100003, 64), (65536, 32768)])
def test_every_item_runs_exactly_once(restore_threads, threads, count, grain):
    _C.set_num_threads(threads)
    for _ in range(5):  # the chunks' owners change from call to call under load
        assert np.array_equal(_C._parallel_coverage(count, grain), np.ones(count, np.int32))


@pytest.mark.parametrize("threads", (2, 3, 8))
def test_exception_on_any_chunk_is_raised_as_memory_error(restore_threads, threads):
    _C.set_num_threads(threads)
    count = 4096
    for fail_at in (0, 1, count // 2, count - 1):  # the caller's part and the workers'
        with pytest.raises(MemoryError):
            _C._parallel_coverage(count, 1, fail_at)
    # The pool is intact afterwards.
    assert np.array_equal(_C._parallel_coverage(count, 1), np.ones(count, np.int32))


def _kernel_families():
    """Forward and backward of every kernel family on shapes large enough that each kernel
    splits its work at 8 threads; returns every result as an array."""
    rng = np.random.default_rng(7)
    results = {}

    images = cunn.tensor(rng.standard_normal((9, 3, 31, 29), dtype=np.float32),
                         requires_grad=True)
    weight = cunn.tensor(rng.standard_normal((17, 3, 3, 3), dtype=np.float32),
                         requires_grad=True)
    bias = cunn.tensor(rng.standard_normal(17, dtype=np.float32), requires_grad=True)
    features = F.max_pool2d(F.relu(F.conv2d(images, weight, bias, padding=1)), 2)
    flat = features.reshape(9, -1)
    dense = cunn.tensor(rng.standard_normal((101, flat.shape[1]), dtype=np.float32) * 0.01,
                        requires_grad=True)
    logits = F.linear(flat, dense)
    labels = cunn.tensor(rng.integers(0, 101, 9))
    loss = F.cross_entropy(logits, labels) + F.log_softmax(logits, dim=1).sum() * 1e-3
    loss.backward()
    results.update(conv=features, logits=logits, loss=loss, grad_images=images.grad,
                   grad_weight=weight.grad, grad_bias=bias.grad, grad_dense=dense.grad)

    scores = cunn.tensor(rng.standard_normal((1500, 211), dtype=np.float32), requires_grad=True)
    targets = cunn.tensor(rng.integers(0, 211, 1500))
    soft = F.softmax(scores, dim=1)
    total = (F.cross_entropy(scores, targets) + F.mse_loss(soft, soft.detach() * 0.5)
             + F.l1_loss(scores, scores.detach() * 0.25))
    total.backward()
    results.update(softmax=soft, losses=total, grad_scores=scores.grad)

    big = cunn.tensor(rng.standard_normal((333, 1001), dtype=np.float32))
    results.update(gemm=cunn.matmul(big, big.T), row_sums=big.sum(dim=1), column_max=big.max(0)[0])

    for name, make in (("adam", lambda p: optim.Adam(p, lr=1e-2)),
                       ("sgd", lambda p: optim.SGD(p, lr=0.1, momentum=0.9))):
        parameter = cunn.nn.Parameter(cunn.tensor(rng.standard_normal(300007, dtype=np.float32)))
        optimizer = make([parameter])
        for step in range(3):
            parameter.grad = cunn.tensor(rng.standard_normal(300007, dtype=np.float32))
            optimizer.step()
        results[name] = parameter
    return {name: np.array(np.asarray(value.detach() if hasattr(value, "detach") else value))
            for name, value in results.items()}


def test_results_are_bit_identical_at_1_2_3_and_8_threads(restore_threads):
    reference = None
    for threads in THREAD_COUNTS:
        _C.set_num_threads(threads)
        for _ in range(2):  # twice: which thread runs which chunk differs between calls
            results = _kernel_families()
            if reference is None:
                reference = results
                continue
            for name, value in results.items():
                assert value.tobytes() == reference[name].tobytes(), \
                    f"{name} differs at {threads} threads"


FORK_AFTER_KERNEL = """
import os, numpy as np, cunn
cunn.set_num_threads(2)
a = np.arange(512 * 512, dtype=np.float32).reshape(512, 512) % 7
expected = np.asarray(cunn.matmul(a, a))
pid = os.fork()
if pid == 0:
    ok = np.array_equal(np.asarray(cunn.matmul(a, a)), expected)
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""

POOL_AFTER_KERNEL = """
import multiprocessing, numpy as np, cunn
cunn.set_num_threads(2)
a = np.arange(256 * 384, dtype=np.float32).reshape(256, 384) % 5

def product(scale):
    return np.asarray(cunn.matmul(a * scale, a.T)).sum(dtype=np.float64)

expected = [product(scale) for scale in range(4)]
with multiprocessing.get_context("fork").Pool(2) as pool:
    got = pool.map(product, range(4))
print(got == expected)
"""


def test_forked_child_runs_kernels_after_parallel_ones():
    assert run_python(FORK_AFTER_KERNEL, timeout=120) == "0"


def test_multiprocessing_fork_pool_after_parallel_kernels():
    assert run_python(POOL_AFTER_KERNEL, timeout=120) == "True"


MEMORY_LIMIT = """
import resource, numpy as np, cunn
import cunn.nn.functional as F
cunn.set_num_threads({threads})
rng = np.random.default_rng(0)
small = rng.standard_normal((2, 8, 16, 16), dtype=np.float32)
small_weight = rng.standard_normal((8, 8, 3, 3), dtype=np.float32)
if {warm}:  # the workers exist (and run the failing chunks) before the limit is set
    F.conv2d(small, small_weight, padding=1)
images = rng.standard_normal((64, 64, 56, 56), dtype=np.float32)
weight = rng.standard_normal((64, 64, 3, 3), dtype=np.float32)
with open("/proc/self/status") as status:
    size_kib = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
# Room for the output (51 MB) but not for the kernels' working buffers as well.
limit = size_kib * 1024 + {margin}
resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
outcomes = []
for _ in range(3):
    try:
        F.conv2d(images, weight, padding=1)
        outcomes.append("ok")
    except MemoryError:
        outcomes.append("MemoryError")
print(" ".join(outcomes))
"""


@needs_plain_malloc
@pytest.mark.parametrize("warm, threads", [(True, 2), (False, 2), (True, 8)],
                         ids=["workers-running", "workers-not-started", "8-threads"])
def test_kernel_under_a_memory_limit_raises_memory_error(warm, threads):
    """Just above the process's size, a kernel's allocation fails: the process must raise
    MemoryError (never abort) and stay usable. Several margins, so that the failure lands in
    different places (the output, the working buffers, thread creation). A std::bad_alloc
    on a worker thread itself is provoked by _parallel_coverage above: glibc serves a
    worker's buffers from the arena it reserved earlier, which the limit does not stop."""
    seen = set()
    for margin in (1 << 20, 60 << 20, 80 << 20):
        output = run_python(MEMORY_LIMIT.format(threads=threads, warm=warm, margin=margin),
                            timeout=180)
        assert set(output.split()) <= {"ok", "MemoryError"}, output
        seen.update(output.split())
    assert "MemoryError" in seen


THREADS_UNDER_LIMIT = """
import resource, numpy as np, cunn
rng = np.random.default_rng(0)
a = rng.standard_normal((512, 2048), dtype=np.float32)
b = rng.standard_normal((2048, 512), dtype=np.float32)
cunn.set_num_threads(1)
expected = np.asarray(cunn.matmul(a, b))  # the calling thread's buffers exist now
# The same calls once more before the limit, so that the allocator holds free room for
# their output and comparison (matmul reads float32 arrays in place: no operand copies
# leave that room behind any more).
np.array_equal(np.asarray(cunn.matmul(a, b)), expected)
cunn.set_num_threads(2)
with open("/proc/self/status") as status:
    size = next(int(line.split()[1]) for line in status if line.startswith("VmSize")) * 1024
# Room for the output, not for a thread's stack: creating the worker fails.
resource.setrlimit(resource.RLIMIT_AS, (size + {margin}, resource.RLIM_INFINITY))
print(all(np.array_equal(np.asarray(cunn.matmul(a, b)), expected) for _ in range(3)))
"""


@needs_plain_malloc
@pytest.mark.parametrize("margin_mib", [1, 4])
def test_thread_creation_failure_falls_back_to_fewer_threads(margin_mib):
    # OpenMP exited the process here ("libgomp: Thread creation failed").
    assert run_python(THREADS_UNDER_LIMIT.format(margin=margin_mib << 20), timeout=120) == "True"

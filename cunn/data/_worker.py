"""DataLoader worker processes (``num_workers > 0``), as PyTorch runs them.

Batch ``i`` of an epoch goes to worker ``i % num_workers``; at most ``prefetch_factor`` batches
per worker are in flight; the main process hands batches out in order. Each worker seeds
Python's ``random``, NumPy's global generator and cunn's generator with ``base_seed + worker_id``
(``base_seed`` drawn in the main process per epoch, or once with ``persistent_workers``), runs
``worker_init_fn(worker_id)``, and kernels there use one thread (the main process keeps the
cores). Workers start with ``fork`` on Linux: cunn's thread pool is fork-safe (a child starts a
fresh one), and forking needs no pickling of the dataset; elsewhere Python's default start
method (spawn), which needs a picklable dataset. An exception in a worker is raised again in
the main process with the worker's traceback in its message; a worker that dies raises
``RuntimeError``. Workers are shut down when an epoch ends, when iteration stops early
(``break``, an exception, the iterator garbage-collected), or, with ``persistent_workers``,
when the DataLoader goes away.
"""
import os
import pickle
import queue
import random
import signal
import sys
import traceback
import warnings

import numpy as np

_POLL_SECONDS = 1.0
_worker_info = None


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: id, num_workers, seed, dataset."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


def get_worker_info():
    """The current worker's ``WorkerInfo`` inside a DataLoader worker process, else None."""
    return _worker_info


def default_context():
    import multiprocessing

    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class _WorkerError:
    """An exception raised in a worker, carried to the main process as its type and text."""

    def __init__(self, worker_id, error):
        error_type = type(error)
        # A class pickles by reference (module and name), and dumps() itself checks that the
        # name leads back to it, so the parent can rebuild it; local classes fail here.
        try:
            pickle.dumps(error_type)
        except Exception:
            error_type = RuntimeError
        self.error_type = error_type
        self.text = (f"Caught {type(error).__name__} in DataLoader worker process {worker_id}.\n"
                     f"Original traceback (most recent call last):\n"
                     + "".join(traceback.format_exception(type(error), error,
                                                          error.__traceback__)))

    def reraise(self):
        try:
            error = self.error_type(self.text)
        except Exception:  # a type whose constructor wants other arguments
            error = RuntimeError(self.text)
        raise error


def _seed_everything(seed):
    import cunn

    random.seed(seed)
    np.random.seed(seed % 2**32)
    cunn.manual_seed(seed)
    cunn.set_num_threads(1)


def _worker_loop(fetch, dataset, collate_fn, index_queue, result_queue, worker_id, num_workers,
                 seed, worker_init_fn, parent_pid):
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    init_error = None
    try:
        _seed_everything(seed)
        _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception as error:
        init_error = _WorkerError(worker_id, error)
    while True:
        try:
            task = index_queue.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if os.getppid() != parent_pid:  # orphaned: the main process died
                return
            continue
        if task is None:
            return
        number, indices = task
        if init_error is not None:
            result = init_error
        else:
            try:
                result = fetch(dataset, collate_fn, indices)
            except Exception as error:
                result = _WorkerError(worker_id, error)
        result_queue.put((number, result))


class WorkerPool:
    """``num_workers`` processes serving batches; ``epoch(batches)`` yields them in order."""

    def __init__(self, fetch, dataset, collate_fn, num_workers, base_seed, worker_init_fn=None,
                 prefetch_factor=2, timeout=0, context=None):
        import multiprocessing

        context = context or default_context()
        if isinstance(context, str):
            context = multiprocessing.get_context(context)
        self.num_workers = num_workers
        self.prefetch = prefetch_factor * num_workers
        self.timeout = timeout
        self.next_task = 0  # task numbers run on across epochs, so stale results are known
        self.result_queue = context.Queue()
        self.index_queues, self.processes = [], []
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a process with threads; cunn's are fork-safe.
            warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
            for worker_id in range(num_workers):
                index_queue = context.Queue()
                process = context.Process(
                    target=_worker_loop, daemon=True,
                    args=(fetch, dataset, collate_fn, index_queue, self.result_queue, worker_id,
                          num_workers, base_seed + worker_id, worker_init_fn, os.getpid()))
                process.start()
                self.index_queues.append(index_queue)
                self.processes.append(process)

    def epoch(self, batches):
        first = self.next_task
        self.next_task += len(batches)
        sent = 0
        ready = {}
        for position in range(len(batches)):
            while sent < len(batches) and sent - position < self.prefetch:
                self.index_queues[sent % self.num_workers].put((first + sent, batches[sent]))
                sent += 1
            while first + position not in ready:
                number, result = self._receive()
                if number >= first:
                    ready[number] = result
            result = ready.pop(first + position)
            if isinstance(result, _WorkerError):
                result.reraise()
            yield result

    def _receive(self):
        waited = 0.0
        while True:
            try:
                return self.result_queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                waited += _POLL_SECONDS
            dead = [p for p in self.processes if p.exitcode is not None]
            if dead:
                process = dead[0]
                self.shutdown()
                raise RuntimeError(f"DataLoader worker (pid {process.pid}) exited unexpectedly "
                                   f"with exit code {process.exitcode}")
            if self.timeout and waited >= self.timeout:
                self.shutdown()
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                   f"waiting for a batch from its workers")

    def shutdown(self):
        processes, self.processes = self.processes, []
        for index_queue in self.index_queues:
            try:
                index_queue.put(None)
            except (OSError, ValueError):
                pass
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for channel in self.index_queues + [self.result_queue]:
            channel.cancel_join_thread()  # never block exit on undelivered items
            channel.close()
        self.index_queues = []

    def __del__(self):
        if getattr(self, "processes", None):
            try:
                self.shutdown()
            except Exception:  # at interpreter exit the queues may be half torn down
                pass


def iterate(pool, batches, persistent):
    """Yields the batches from ``pool``; a non-persistent pool is shut down however the
    iteration ends (exhausted, ``break``, an exception, the iterator collected)."""
    try:
        yield from pool.epoch(batches)
    finally:
        if not persistent:
            pool.shutdown()

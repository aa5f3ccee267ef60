"""DistributedDataParallel: one model replica per MPI rank, gradients averaged in backward.

Construction checks that every rank built the same model (names, shapes, dtypes) and copies
rank 0's parameters and buffers to the others. Each forward marks its outputs with a
pass-through graph node; when a backward pass reaches it, the engine is asked to call
``_average_gradients`` at the end of that pass. The gradients are then packed into one
contiguous buffer per dtype (up to ``bucket_cap_mb``; an MNIST network is one message),
summed in place with a single ``MPI_Allreduce`` and divided by the world size, so every
rank's optimizer takes the identical step.
"""
import contextlib

import numpy as np

from cunn.autograd import engine
from cunn.autograd.function import Function
from cunn.distributed import process_group
from cunn.distributed._mpi import mpi
from cunn.nn.modules.module import Module

__all__ = ["DistributedDataParallel"]


class _AverageAfterBackward(Function):
    """Identity on the forward output; its backward queues the gradient averaging."""

    def backward(self, grad_output):
        self.saved[0]._queue_average()
        return (grad_output,)


def _describe(named_arrays):
    return [(name, tuple(array.shape), array.dtype.str) for name, array in named_arrays]


def _first_difference(mine, reference):
    for (name, shape, dtype), (ref_name, ref_shape, ref_dtype) in zip(mine, reference):
        if (name, shape, dtype) != (ref_name, ref_shape, ref_dtype):
            return (f"{name!r} {np.dtype(dtype)}{shape} where rank 0 has "
                    f"{ref_name!r} {np.dtype(ref_dtype)}{ref_shape}")
    return f"{len(mine)} parameters and buffers where rank 0 has {len(reference)}"


class DistributedDataParallel(Module):
    """``DistributedDataParallel(module)``: wrap a model after ``init_process_group``.

    ``device_ids``, ``output_device``, ``find_unused_parameters`` and
    ``gradient_as_bucket_view`` are accepted for PyTorch compatibility. A parameter that got
    no gradient on a rank contributes zeros there.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, bucket_cap_mb=25, find_unused_parameters=False,
                 gradient_as_bucket_view=False, **unused):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a cunn.nn.Module, got "
                            f"{type(module).__name__}")
        if not (isinstance(bucket_cap_mb, (int, float)) and bucket_cap_mb > 0):
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive "
                             f"number, got {bucket_cap_mb!r}")
        self._comm = process_group.communicator()
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self._sync_enabled = True
        self._average_queued = False
        self._check_same_model()
        self._broadcast_state(self._named_state())
        trainable = [p for p in module.parameters() if p.requires_grad]
        self._buckets = self._plan_buckets(trainable, int(bucket_cap_mb * 2 ** 20))

    def _named_buffers(self):
        named_buffers = getattr(self.module, "named_buffers", None)
        return [(name, buffer._data) for name, buffer in named_buffers()] if named_buffers else []

    def _named_state(self):
        return [(name, p._data) for name, p in self.module.named_parameters()] \
            + self._named_buffers()

    def _check_same_model(self):
        mine = _describe(self._named_state())
        everyone = self._comm.allgather(mine)
        reference = everyone[0]
        differing = [(rank, _first_difference(theirs, reference))
                     for rank, theirs in enumerate(everyone) if theirs != reference]
        if differing:
            details = "; ".join(f"rank {rank} has {what}" for rank, what in differing)
            raise RuntimeError("DistributedDataParallel: the ranks built different models, so "
                               f"their gradients cannot be averaged: {details}")

    def _broadcast_state(self, named_arrays):
        """Rank 0's values into every rank's arrays, one message per dtype."""
        by_dtype = {}
        for _, array in named_arrays:
            by_dtype.setdefault(array.dtype, []).append(array)
        for dtype, arrays in by_dtype.items():
            flat = np.concatenate([array.ravel() for array in arrays]) if arrays else None
            self._comm.Bcast(flat, root=0)
            offset = 0
            for array in arrays:
                array[...] = flat[offset:offset + array.size].reshape(array.shape)
                offset += array.size

    @staticmethod
    def _plan_buckets(parameters, capacity_bytes):
        """Parameters grouped by dtype into flat buffers of at most ``capacity_bytes`` (a
        parameter larger than that gets a bucket of its own)."""
        buckets = []
        open_bucket = {}
        for parameter in parameters:
            dtype = parameter._data.dtype
            bucket = open_bucket.get(dtype)
            size = parameter._data.nbytes
            if bucket is None or (bucket["bytes"] + size > capacity_bytes and bucket["params"]):
                bucket = {"params": [], "bytes": 0, "dtype": dtype}
                buckets.append(bucket)
                open_bucket[dtype] = bucket
            bucket["params"].append(parameter)
            bucket["bytes"] += size
        for bucket in buckets:
            bucket["buffer"] = np.empty(sum(p._data.size for p in bucket["params"]),
                                        dtype=bucket["dtype"])
        return buckets

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self.training:
            buffers = self._named_buffers()
            if buffers:
                self._broadcast_state(buffers)
        output = self.module(*inputs, **kwargs)
        if not self._sync_enabled:
            return output
        return self._mark_outputs(output)

    def _mark_outputs(self, output):
        if isinstance(output, Function.tensor_class):
            if output.grad_fn is None and not output.requires_grad:
                return output
            return _AverageAfterBackward.record(output._data, (output,), self)
        if isinstance(output, (tuple, list)):
            return type(output)(self._mark_outputs(item) for item in output)
        if isinstance(output, dict):
            return {key: self._mark_outputs(item) for key, item in output.items()}
        return output

    def _queue_average(self):
        if not self._average_queued:
            self._average_queued = True
            engine.queue_callback(self._average_gradients)

    def _average_gradients(self):
        self._average_queued = False
        MPI = mpi()
        world_size = self._comm.Get_size()
        for bucket in self._buckets:
            flat = bucket["buffer"]
            offset = 0
            for parameter in bucket["params"]:
                size = parameter._data.size
                if parameter.grad is None:
                    flat[offset:offset + size] = 0
                else:
                    flat[offset:offset + size] = parameter.grad._data.ravel()
                offset += size
            self._comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
            np.divide(flat, world_size, out=flat)
            offset = 0
            for parameter in bucket["params"]:
                size = parameter._data.size
                averaged = flat[offset:offset + size].reshape(parameter._data.shape)
                if parameter.grad is None:
                    parameter.grad = Function.tensor_class(averaged.copy())
                else:
                    parameter.grad._data[...] = averaged
                offset += size

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside the block only accumulate local gradients; the first
        backward after it averages everything accumulated."""
        previous = self._sync_enabled
        self._sync_enabled = False
        try:
            yield
        finally:
            self._sync_enabled = previous

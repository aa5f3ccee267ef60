"""DataParallel: on one machine a transparent wrapper, as PyTorch's is without GPUs.

The wrapped network is ``.module``, so state-dict keys gain the ``module.`` prefix
exactly as in PyTorch, and checkpoints move between wrapped and unwrapped models
the PyTorch way (``model.module.state_dict()``).
"""
from cunn.nn.modules._utils import is_int
from cunn.nn.modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)``: forward calls
    ``module``; the kernels already use every core (see cunn.set_num_threads)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: module must be a cunn.nn.Module, got "
                            f"{type(module).__name__}")
        if device_ids is not None:
            device_ids = list(device_ids)
            for device in device_ids:
                if not (is_int(device) or isinstance(device, str) or hasattr(device, "type")):
                    raise TypeError(f"DataParallel: device_ids must hold ints or devices, got "
                                    f"{device!r}")
        if not is_int(dim):
            raise TypeError(f"DataParallel: dim must be an int, got {type(dim).__name__}")
        self.module = module
        # As PyTorch without GPUs: one device, nothing to scatter to.
        self.device_ids = []
        self.output_device = None
        self.dim = int(dim)

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)

"""Devices: cunn computes on the CPU; ``cunn.device("cpu")`` and ``"cpu"`` are accepted
wherever PyTorch takes a device, and a CUDA device only when the CUDA backend is usable."""

__all__ = ["device", "check_device"]


class device:  # noqa: N801  (PyTorch's name)
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a str such as 'cpu', got {type.__class__.__name__}")
        name, _, number = type.partition(":")
        if name not in ("cpu", "cuda"):
            raise ValueError(f"device: unknown device type {name!r} (expected 'cpu' or 'cuda')")
        self.type = name
        self.index = int(number) if number else index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")


def check_device(op, target):
    """``target`` as a device cunn can place tensors on (only the CPU holds them)."""
    chosen = device(target)
    if chosen.type != "cpu":
        raise ValueError(f"{op}: device {str(chosen)!r} is not available: cunn keeps tensors "
                         "in CPU memory (cunn.cuda.is_available() says whether CUDA kernels "
                         "were built)")
    return CPU

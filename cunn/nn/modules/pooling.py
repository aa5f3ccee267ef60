"""MaxPool2d over NCHW images (padding counts as -inf, as in PyTorch)."""
from cunn.nn import functional as F
from cunn.nn.modules._utils import check_pair
from cunn.nn.modules.module import Module

__all__ = ["MaxPool2d"]


class MaxPool2d(Module):
    """``MaxPool2d(kernel_size, stride=None, padding=0)``; stride defaults to kernel_size.

    ``dilation``, ``return_indices`` and ``ceil_mode`` are accepted at their defaults
    only (1, False, False), so PyTorch code that spells them out still runs.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        kernel = check_pair(kernel_size, "kernel_size", "MaxPool2d")
        strides = kernel if stride is None else check_pair(stride, "stride", "MaxPool2d")
        pads = check_pair(padding, "padding", "MaxPool2d", minimum=0)
        if pads[0] * 2 > kernel[0] or pads[1] * 2 > kernel[1]:
            raise ValueError(f"MaxPool2d: padding must be at most half the kernel size, got "
                             f"padding={padding!r} for kernel_size={kernel_size!r}")
        if check_pair(dilation, "dilation", "MaxPool2d") != (1, 1):
            raise ValueError(f"MaxPool2d: only dilation=1 is supported, got {dilation!r}")
        if return_indices or ceil_mode:
            raise ValueError("MaxPool2d: return_indices=True and ceil_mode=True are not "
                             "supported")
        # Stored as given (an int stays an int), so the repr reads as PyTorch's does.
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = False
        self.ceil_mode = False
        self._pairs = (kernel, strides, pads)

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

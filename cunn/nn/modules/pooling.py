"""MaxPool2d (padding counts as -inf, as in PyTorch), AvgPool2d and AdaptiveAvgPool2d over
NCHW images."""
from cunn.nn import functional as F
from cunn.nn.modules._utils import check_bool, check_int, check_pair, is_int
from cunn.nn.modules.module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


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


class AvgPool2d(Module):
    """``AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True, divisor_override=None)``; stride defaults to kernel_size.
    ``ceil_mode`` and ``divisor_override`` are accepted at their defaults only."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        kernel = check_pair(kernel_size, "kernel_size", "AvgPool2d")
        if stride is not None:
            check_pair(stride, "stride", "AvgPool2d")
        pads = check_pair(padding, "padding", "AvgPool2d", minimum=0)
        if pads[0] * 2 > kernel[0] or pads[1] * 2 > kernel[1]:
            raise ValueError(f"AvgPool2d: padding must be at most half the kernel size, got "
                             f"padding={padding!r} for kernel_size={kernel_size!r}")
        if ceil_mode or divisor_override is not None:
            raise ValueError("AvgPool2d: ceil_mode=True and divisor_override are not supported")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = False
        self.count_include_pad = check_bool(count_include_pad, "count_include_pad", "AvgPool2d")
        self.divisor_override = None

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, False,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """``AdaptiveAvgPool2d(output_size)``: an int, or a pair whose None entries keep that
    input size."""

    def __init__(self, output_size):
        super().__init__()
        if isinstance(output_size, (tuple, list)):
            if len(output_size) != 2 or not all(size is None or is_int(size)
                                                for size in output_size):
                raise TypeError(f"AdaptiveAvgPool2d: output_size must be an int or a pair of "
                                f"ints (or None), got {output_size!r}")
            for size in output_size:
                if size is not None:
                    check_int(size, "output_size", "AdaptiveAvgPool2d")
            output_size = tuple(output_size)
        else:
            check_int(output_size, "output_size", "AdaptiveAvgPool2d")
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"

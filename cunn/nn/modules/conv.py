"""Conv2d: 2-D cross-correlation over NCHW images, zero padding."""
import math

from cunn._memory import aligned_empty
from cunn.nn import functional as F
from cunn.nn import init
from cunn.nn.modules._utils import check_bool, check_int, check_pair
from cunn.nn.modules.module import Module
from cunn.nn.parameter import Parameter

__all__ = ["Conv2d"]


class Conv2d(Module):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True)``.

    kernel_size, stride and padding are ints or (h, w) pairs; padding may also be
    ``"valid"`` (none) or ``"same"`` (stride 1, odd kernels). Weight (out, in, kh, kw),
    initialised as PyTorch does (uniform in +-1/sqrt(in_channels * kh * kw)).
    ``dilation``, ``groups`` and ``padding_mode`` are accepted by keyword at their
    defaults only (1, 1, "zeros"), so PyTorch code that spells them out still runs.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 *, dilation=1, groups=1, padding_mode="zeros"):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = check_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = check_pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = check_pair(stride, "stride", "Conv2d")
        bias = check_bool(bias, "bias", "Conv2d",
                          " (cunn's sixth positional argument is bias; pass dilation by keyword)")
        if check_pair(dilation, "dilation", "Conv2d") != (1, 1):
            raise ValueError(f"Conv2d: only dilation=1 is supported, got {dilation!r}")
        if check_int(groups, "groups", "Conv2d") != 1:
            raise ValueError(f"Conv2d: only groups=1 is supported, got {groups!r}")
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        self.dilation, self.groups, self.padding_mode = (1, 1), 1, "zeros"
        self.output_padding, self.transposed = (0, 0), False
        if isinstance(padding, str):
            if padding == "valid":
                self._padding = (0, 0)
            elif padding == "same":
                if self.stride != (1, 1):
                    raise ValueError("Conv2d: padding='same' is not supported for strided "
                                     f"convolutions (stride={self.stride})")
                if any(k % 2 == 0 for k in self.kernel_size):
                    raise ValueError("Conv2d: padding='same' needs odd kernel sizes in cunn "
                                     f"(symmetric padding), got kernel_size={self.kernel_size}")
                self._padding = tuple(k // 2 for k in self.kernel_size)
            else:
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'valid' or 'same', "
                                 f"got {padding!r}")
            self.padding = padding
        else:
            self.padding = self._padding = check_pair(padding, "padding", "Conv2d", minimum=0)
        self.weight = Parameter(aligned_empty((self.out_channels, self.in_channels)
                                              + self.kernel_size))
        if bias:
            self.bias = Parameter(aligned_empty((self.out_channels,)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # kaiming_uniform_(a=sqrt(5)) is U(+-1/sqrt(fan_in)), exactly PyTorch's default.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self._padding)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        return text

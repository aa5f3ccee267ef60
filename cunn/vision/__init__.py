"""cunn.vision: torchvision's spelling. ``datasets`` holds MNIST and FashionMNIST in
torchvision's folder layout; ``transforms`` is ``cunn.data.transforms``."""
import sys

from cunn.data import transforms
from cunn.vision import datasets

# `import cunn.vision.transforms as T` and `from cunn.vision.transforms import ...` find the
# same module object.
sys.modules[__name__ + ".transforms"] = transforms

__all__ = ["datasets", "transforms"]

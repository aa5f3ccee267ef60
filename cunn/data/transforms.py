"""Image transforms (torchvision's names and results), each usable on one item or a batch.

``t(image)`` transforms one item; ``t.batch(images)`` transforms a stack of items with a
leading batch axis in one vectorised step, giving the same values as stacking ``t(image)``
for each item. Datasets call ``apply_batch`` so that any callable works: transforms without
a ``batch`` method (a plain function, ``Lambda``) are applied item by item.
Results are Tensors; inputs may be NumPy arrays or Tensors.
"""
import numbers

import numpy as np

import cunn
from cunn.data.collate import default_collate


def apply_batch(transform, items):
    """``transform`` applied to every item of the batch ``items`` (leading axis)."""
    batched = getattr(transform, "batch", None)
    if batched is not None:
        return batched(items)
    # Items reach the transform as they would alone: array rows of an array batch, Tensors of
    # a Tensor batch (the output of an earlier transform).
    if isinstance(items, np.ndarray):
        results = [transform(item) for item in items]
    else:
        results = [transform(cunn.from_numpy(item)) for item in np.asarray(items)]
    # Images stay images of their own dtype (a uint8 batch for the next step, e.g. ToTensor);
    # anything else is collated as a DataLoader would.
    if results and all(type(result) is np.ndarray for result in results):
        return np.stack(results)
    if results and all(type(result) is cunn.Tensor for result in results):
        return cunn.from_numpy(np.stack([result._data for result in results]))
    return default_collate(results)


class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for transform in self.transforms:
            if not callable(transform):
                raise TypeError(f"Compose: every transform must be callable, got "
                                f"{type(transform).__name__}")

    def __call__(self, item):
        for transform in self.transforms:
            item = transform(item)
        return item

    def batch(self, items):
        for transform in self.transforms:
            items = apply_batch(transform, items)
        return items

    def __repr__(self):
        inner = "".join(f"\n    {transform!r}," for transform in self.transforms)
        return f"Compose([{inner}\n])"


_255 = np.float32(255)


class ToTensor:
    """uint8 image (H, W) or (H, W, C) to a float32 Tensor (C, H, W) in [0, 1].

    The channel axis is added (or moved first) as in torchvision; floating images are
    converted to float32 without scaling. On a batch: (B, H, W) or (B, H, W, C) to
    (B, C, H, W).
    """

    def __call__(self, image):
        return self._convert(np.asarray(image), batched=False)

    def batch(self, images):
        return self._convert(np.asarray(images), batched=True)

    def _convert(self, array, batched):
        lead = 1 if batched else 0
        if array.ndim == 2 + lead:
            array = array.reshape(array.shape[:lead] + (1,) + array.shape[lead:])
        elif array.ndim == 3 + lead:
            array = np.moveaxis(array, -1, lead)
        else:
            expected = "(B, H, W) or (B, H, W, C)" if batched else "(H, W) or (H, W, C)"
            raise ValueError(f"ToTensor: image must be {expected}, got shape {array.shape}")
        if array.dtype == np.uint8:
            # float32 division, as torchvision's img.float().div(255): bit-identical results.
            result = np.empty(array.shape, dtype=np.float32)
            np.copyto(result, array, casting="safe")
            np.divide(result, _255, out=result)
        elif array.dtype.kind == "f":
            result = np.empty(array.shape, dtype=np.float32)
            np.copyto(result, array, casting="unsafe")
        else:
            raise TypeError(f"ToTensor: image must be uint8 or floating, got {array.dtype}")
        return cunn.from_numpy(result)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """(x - mean) / std per channel, channels on axis -3 ((C, H, W) items, (B, C, H, W)
    batches). A single mean/std also applies to flattened inputs."""

    def __init__(self, mean, std):
        self.mean = self._as_values(mean, "mean")
        self.std = self._as_values(std, "std")
        if len(self.mean) != len(self.std) and 1 not in (len(self.mean), len(self.std)):
            raise ValueError(f"Normalize: mean and std must have the same length, got "
                             f"{len(self.mean)} and {len(self.std)}")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must not contain zeros, got {self.std.tolist()}")
        self._cast = {}

    @staticmethod
    def _as_values(values, name):
        if isinstance(values, numbers.Real):
            values = [values]
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"Normalize: {name} must be a number or a sequence of numbers, "
                             f"got {values!r}")
        return array

    def _constants(self, dtype):
        # Cast once per dtype: (x - mean) / std computed in the input's precision, as torchvision.
        if dtype not in self._cast:
            channels = max(len(self.mean), len(self.std))
            shape = (-1,) if channels == 1 else (-1, 1, 1)
            self._cast[dtype] = (self.mean.astype(dtype).reshape(shape),
                                 self.std.astype(dtype).reshape(shape), channels)
        return self._cast[dtype]

    def __call__(self, tensor):
        array = np.asarray(tensor)
        if array.dtype.kind != "f":
            raise TypeError(f"Normalize: input must be floating (use ToTensor first), got "
                            f"{array.dtype}")
        mean, std, channels = self._constants(array.dtype)
        if channels > 1 and (array.ndim < 3 or array.shape[-3] != channels):
            raise ValueError(f"Normalize: input must have {channels} channels on axis -3 "
                             f"((C, H, W) or (B, C, H, W)), got shape {array.shape}")
        result = np.subtract(array, mean)
        np.divide(result, std, out=result)
        return cunn.from_numpy(result)

    # Channels sit on axis -3 for items and batches alike.
    batch = __call__

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Flatten:
    """Flatten an item to 1-D ((1, 28, 28) or (28, 28) to (784,)); a batch to (B, features)."""

    def __call__(self, item):
        return cunn.from_numpy(np.ascontiguousarray(np.asarray(item)).reshape(-1))

    def batch(self, items):
        array = np.ascontiguousarray(np.asarray(items))
        if array.ndim == 0:
            raise ValueError("Flatten: a batch must have a leading batch axis, got a 0-d value")
        return cunn.from_numpy(array.reshape(len(array), -1))

    def __repr__(self):
        return "Flatten()"


class Lambda:
    """Wrap a function of one item as a transform (applied item by item on batches)."""

    def __init__(self, function):
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {type(function).__name__}")
        self.function = function

    def __call__(self, item):
        return self.function(item)

    def __repr__(self):
        return f"Lambda({getattr(self.function, '__name__', self.function)!r})"


from cunn.data.augmentations import (  # noqa: E402,F401  (torchvision's transforms, one namespace)
    CenterCrop, InterpolationMode, Pad, RandomAffine, RandomCrop, RandomHorizontalFlip,
    RandomRotation, RandomVerticalFlip, Resize)

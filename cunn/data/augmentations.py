"""Geometric transforms with torchvision's names and results: Pad, CenterCrop, Resize,
RandomCrop, RandomHorizontalFlip, RandomVerticalFlip, RandomRotation, RandomAffine.

Images are NumPy arrays in PIL's layout, (H, W) or (H, W, C), as datasets hand them out,
or Tensors (..., H, W) as ToTensor makes them; each transform returns the kind it was
given. Random parameters are drawn from cunn's stream, so ``cunn.manual_seed`` makes a run
repeatable. The arithmetic follows torchvision's tensor functions: Resize is separable
bilinear interpolation with antialiasing when shrinking, rotation and affine map every
output pixel back through the inverse matrix about the image centre and sample it
(nearest or bilinear, pixels from outside filled with ``fill``); integer images are
computed in float32 and rounded back.
"""
import math
import numbers

import numpy as np

import cunn
from cunn import random as _random

__all__ = ["InterpolationMode", "Pad", "CenterCrop", "Resize", "RandomCrop",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "RandomAffine",
           "pad", "crop", "center_crop", "resize", "rotate", "affine"]


class InterpolationMode:
    """torchvision's interpolation names (the strings work too)."""
    NEAREST = "nearest"
    BILINEAR = "bilinear"


# ---- images in and out ----

def _planes(op, image):
    """``(array (..., H, W), restore)``: the image with its spatial axes last, and the
    function that gives a result back in the image's own kind and layout."""
    if isinstance(image, cunn.Tensor):
        array = image._data
        if array.ndim < 2:
            raise ValueError(f"{op}: a tensor image must be (..., H, W), got shape {array.shape}")
        return array, cunn.from_numpy
    array = np.asarray(image)
    if array.ndim == 2:
        return array, lambda result: result
    if array.ndim == 3:  # PIL's (H, W, C)
        return np.moveaxis(array, -1, 0), lambda result: np.ascontiguousarray(
            np.moveaxis(result, 0, -1))
    raise ValueError(f"{op}: an array image must be (H, W) or (H, W, C), got shape {array.shape}")


def _as_float(array):
    return array if array.dtype.kind == "f" else array.astype(np.float32)


def _back_to(array, dtype, rounded):
    """``array`` in ``dtype``: integer images are rounded (half to even) and clipped."""
    if dtype.kind == "f":
        return array.astype(dtype, copy=False)
    if rounded:
        array = np.rint(array)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        array = np.clip(array, info.min, info.max)
    return array.astype(dtype)


def _size_pair(op, size):
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return _size_pair(op, size[0])
    if isinstance(size, (tuple, list)) and len(size) == 2 and all(
            isinstance(value, numbers.Integral) and not isinstance(value, bool) for value in size):
        return int(size[0]), int(size[1])
    raise TypeError(f"{op}: size must be an int or a (height, width) pair of ints, got {size!r}")


def _check_positive(op, size):
    if min(size) <= 0:
        raise ValueError(f"{op}: sizes must be positive, got {size}")
    return size


# ---- the functions ----

_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
              "symmetric": "symmetric"}


def _padding(op, padding):
    """(left, top, right, bottom) from an int, a pair (left/right, top/bottom) or four."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        padding = [padding]
    if not isinstance(padding, (tuple, list)) or len(padding) not in (1, 2, 4) or not all(
            isinstance(value, numbers.Integral) and not isinstance(value, bool)
            for value in padding):
        raise TypeError(f"{op}: padding must be an int or a sequence of 1, 2 or 4 ints, got "
                        f"{padding!r}")
    if len(padding) == 1:
        padding = list(padding) * 4
    elif len(padding) == 2:
        padding = [padding[0], padding[1], padding[0], padding[1]]
    return [int(value) for value in padding]


def pad(image, padding, fill=0, padding_mode="constant"):
    """Pad the borders: ``padding`` as for ``Pad``."""
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"pad: padding_mode must be one of {', '.join(_PAD_MODES)}, got "
                         f"{padding_mode!r}")
    left, top, right, bottom = _padding("pad", padding)
    array, restore = _planes("pad", image)
    if min(left, top, right, bottom) < 0:
        # Negative padding crops, as in torchvision.
        height, width = array.shape[-2:]
        array = array[..., max(-top, 0):height - max(-bottom, 0),
                      max(-left, 0):width - max(-right, 0)]
        left, top, right, bottom = (max(value, 0) for value in (left, top, right, bottom))
    widths = [(0, 0)] * (array.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        result = np.pad(array, widths, mode="constant", constant_values=fill)
    else:
        result = np.pad(array, widths, mode=_PAD_MODES[padding_mode])
    return restore(result)


def crop(image, top, left, height, width):
    """The window of ``height`` x ``width`` at (``top``, ``left``); parts outside the image
    are zeros, as in torchvision."""
    array, restore = _planes("crop", image)
    image_height, image_width = array.shape[-2:]
    bottom, right = top + height, left + width
    if top < 0 or left < 0 or bottom > image_height or right > image_width:
        padding = [max(-left, 0), max(-top, 0), max(right - image_width, 0),
                   max(bottom - image_height, 0)]
        inner = array[..., max(top, 0):min(bottom, image_height),
                      max(left, 0):min(right, image_width)]
        widths = [(0, 0)] * (array.ndim - 2) + [(padding[1], padding[3]),
                                                (padding[0], padding[2])]
        return restore(np.pad(inner, widths))
    return restore(np.ascontiguousarray(array[..., top:bottom, left:right]))


def center_crop(image, output_size):
    """The centred window of ``output_size``; a window larger than the image is zero-padded."""
    target_height, target_width = _check_positive("center_crop",
                                                  _size_pair("center_crop", output_size))
    array, _ = _planes("center_crop", image)
    height, width = array.shape[-2:]
    # Python's round (half to even), as torchvision's int(round(...)).
    top = int(round((height - target_height) / 2.0))
    left = int(round((width - target_width) / 2.0))
    if target_height > height or target_width > width:
        top = -((target_height - height) // 2) if target_height > height else top
        left = -((target_width - width) // 2) if target_width > width else left
    return crop(image, top, left, target_height, target_width)


def _resize_weights(source, target):
    """(target, source) matrix of the antialiased bilinear (triangle) filter: each output
    pixel centre maps to ``(i + 0.5) * source / target``; when shrinking, the triangle is
    widened by the scale so every input pixel contributes (PIL's and torch's antialias)."""
    scale = source / target
    support = max(scale, 1.0)
    centres = (np.arange(target, dtype=np.float64) + 0.5) * scale
    distance = np.abs(np.arange(source, dtype=np.float64)[None, :] + 0.5 - centres[:, None])
    weights = np.maximum(0.0, 1.0 - distance / support)
    return weights / weights.sum(axis=1, keepdims=True)


def _resized_size(size, height, width, max_size):
    if isinstance(size, numbers.Integral) or (isinstance(size, (tuple, list)) and len(size) == 1):
        requested = int(size if isinstance(size, numbers.Integral) else size[0])
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(f"resize: max_size ({max_size}) must be larger than the "
                                 f"requested size ({requested})")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if width <= height else (new_short, new_long)
    if max_size is not None:
        raise ValueError("resize: max_size is only allowed when size is a single int")
    return _size_pair("resize", size)


def resize(image, size, interpolation="bilinear", max_size=None, antialias=True):
    """Resize to ``size`` ((height, width), or an int for the shorter side, keeping the
    aspect ratio) by bilinear interpolation, antialiased when shrinking."""
    if interpolation != "bilinear":
        raise ValueError(f"resize: only bilinear interpolation is supported, got "
                         f"{interpolation!r}")
    if antialias is not True:
        raise ValueError("resize: only antialias=True (torchvision's default) is supported")
    array, restore = _planes("resize", image)
    height, width = array.shape[-2:]
    target_height, target_width = _check_positive(
        "resize", _resized_size(size, height, width, max_size))
    if (target_height, target_width) == (height, width):
        return restore(array.copy())
    source = _as_float(array)
    rows = _resize_weights(height, target_height).astype(source.dtype)
    columns = _resize_weights(width, target_width).astype(source.dtype)
    result = np.matmul(np.matmul(rows, source), columns.T)
    return restore(_back_to(result, array.dtype, rounded=True))


def _inverse_affine_matrix(angle, translate, scale, shear):
    """The 2x3 matrix taking output pixel coordinates (relative to the image centre) to
    input ones, for rotation ``angle`` (degrees), translation, scale and shear (degrees):
    torchvision's parametrisation, inverted."""
    rotation = math.radians(angle)
    shear_x, shear_y = (math.radians(value) for value in shear)
    cos_y = math.cos(shear_y)
    a = math.cos(rotation - shear_y) / cos_y
    b = -math.cos(rotation - shear_y) * math.tan(shear_x) / cos_y - math.sin(rotation)
    c = math.sin(rotation - shear_y) / cos_y
    d = -math.sin(rotation - shear_y) * math.tan(shear_x) / cos_y + math.cos(rotation)
    # [[a, b], [c, d]] has determinant 1, so its inverse is [[d, -b], [-c, a]].
    matrix = np.array([[d, -b, 0.0], [-c, a, 0.0]]) / scale
    translate_x, translate_y = translate
    matrix[:, 2] = -(matrix[:, 0] * translate_x + matrix[:, 1] * translate_y)
    return matrix


def _sample(array, matrix, interpolation, fill):
    """Every output pixel of ``array`` (..., H, W) read at ``matrix`` · (its offset from the
    centre), with pixels from outside the image taken from ``fill``."""
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    height, width = array.shape[-2:]
    # The coordinates are computed as torchvision's grid is, in float32 and through
    # [-1, 1]-normalised positions, so that nearest sampling breaks exact ties the same way.
    f32 = np.float32
    rows, columns = np.meshgrid(np.arange(height, dtype=f32) + f32(0.5 - height * 0.5),
                                np.arange(width, dtype=f32) + f32(0.5 - width * 0.5),
                                indexing="ij")
    theta = matrix.astype(f32) / np.array([[0.5 * width], [0.5 * height]], dtype=f32)
    grid_x = columns * theta[0, 0] + rows * theta[0, 1] + theta[0, 2]
    grid_y = columns * theta[1, 0] + rows * theta[1, 1] + theta[1, 2]
    source_x = ((grid_x + f32(1)) * f32(width) - f32(1)) / f32(2)
    source_y = ((grid_y + f32(1)) * f32(height) - f32(1)) / f32(2)
    source = _as_float(array)
    fill = np.asarray(fill, dtype=source.dtype)
    if fill.ndim == 1 and fill.size > 1:
        fill = fill.reshape((-1, 1, 1))
    if interpolation == "nearest":
        x, y = np.rint(source_x).astype(np.int64), np.rint(source_y).astype(np.int64)
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        values = source[..., np.clip(y, 0, height - 1), np.clip(x, 0, width - 1)]
        return np.where(inside, values, fill), False
    left, top = np.floor(source_x), np.floor(source_y)
    result = np.zeros(source.shape, dtype=source.dtype)
    coverage = np.zeros((height, width), dtype=source.dtype)
    for dy in (0, 1):
        for dx in (0, 1):
            x, y = left + dx, top + dy
            weight = ((1 - np.abs(source_x - x)) * (1 - np.abs(source_y - y))).astype(source.dtype)
            inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
            weight = np.where(inside, weight, 0)
            xi = np.clip(x, 0, width - 1).astype(np.int64)
            yi = np.clip(y, 0, height - 1).astype(np.int64)
            result += weight * source[..., yi, xi]
            coverage += weight
    # torchvision samples a plane of ones alongside and blends the fill in by its coverage.
    return result * coverage + (1 - coverage) * fill, True


def _transform(op, image, matrix, interpolation, fill):
    array, restore = _planes(op, image)
    result, rounded = _sample(array, matrix, interpolation, fill)
    return restore(_back_to(result, array.dtype, rounded))


def rotate(image, angle, interpolation="nearest", fill=0):
    """Rotate counter-clockwise by ``angle`` degrees about the centre, keeping the size."""
    return _transform("rotate", image, _inverse_affine_matrix(-angle, (0, 0), 1.0, (0, 0)),
                      interpolation, fill)


def affine(image, angle, translate, scale, shear, interpolation="nearest", fill=0):
    """torchvision's affine: rotation by ``angle`` degrees (clockwise), translation in
    pixels, ``scale`` and ``shear`` (degrees, a number or an (x, y) pair), about the centre."""
    if isinstance(shear, numbers.Real):
        shear = (shear, 0.0)
    if scale <= 0:
        raise ValueError(f"affine: scale must be positive, got {scale}")
    return _transform("affine", image, _inverse_affine_matrix(angle, translate, scale, shear),
                      interpolation, fill)


# ---- the transforms ----

def _range(op, name, value, centred):
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and centred:
        if value < 0:
            raise ValueError(f"{op}: {name} must be non-negative when a single number, got "
                             f"{value}")
        return (-float(value), float(value))
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(item, numbers.Real) for item in value):
        return (float(value[0]), float(value[1]))
    raise TypeError(f"{op}: {name} must be a number or a (min, max) pair, got {value!r}")


def _interpolation(op, interpolation):
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"{op}: interpolation must be 'nearest' or 'bilinear', got "
                         f"{interpolation!r}")
    return interpolation


def _uniform(low, high):
    return float(_random.generator().uniform(low, high))


class Pad:
    """Pad the borders by ``padding`` (an int, (left/right, top/bottom) or (left, top, right,
    bottom)) with ``fill`` or by ``padding_mode`` 'edge', 'reflect' or 'symmetric'."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        _padding("Pad", padding)
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"Pad: padding_mode must be one of {', '.join(_PAD_MODES)}, got "
                             f"{padding_mode!r}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, image):
        return pad(image, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return (f"Pad(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class CenterCrop:
    """The centred window of ``size`` (an int for a square, or (height, width))."""

    def __init__(self, size):
        self.size = _check_positive("CenterCrop", _size_pair("CenterCrop", size))

    def __call__(self, image):
        return center_crop(image, self.size)

    def __repr__(self):
        return f"CenterCrop(size={self.size})"


class Resize:
    """Bilinear resize to ``size``: (height, width), or an int that the shorter side becomes
    (the longer one keeps the aspect ratio, at most ``max_size``); antialiased when
    shrinking, as torchvision's tensor Resize."""

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        if not (isinstance(size, numbers.Integral) or isinstance(size, (tuple, list))):
            raise TypeError(f"Resize: size must be an int or a sequence, got {size!r}")
        if interpolation != "bilinear":
            raise ValueError(f"Resize: only bilinear interpolation is supported, got "
                             f"{interpolation!r}")
        self.size, self.interpolation = size, interpolation
        self.max_size, self.antialias = max_size, antialias

    def __call__(self, image):
        return resize(image, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self):
        return (f"Resize(size={self.size}, interpolation={self.interpolation}, "
                f"max_size={self.max_size}, antialias={self.antialias})")


class RandomCrop:
    """A window of ``size`` at a random position, after optional ``padding`` (as ``Pad``);
    ``pad_if_needed`` pads an image smaller than the window."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0,
                 padding_mode="constant"):
        self.size = _check_positive("RandomCrop", _size_pair("RandomCrop", size))
        if padding is not None:
            _padding("RandomCrop", padding)
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def __call__(self, image):
        if self.padding is not None:
            image = pad(image, self.padding, self.fill, self.padding_mode)
        height, width = _planes("RandomCrop", image)[0].shape[-2:]
        target_height, target_width = self.size
        if self.pad_if_needed and width < target_width:
            image = pad(image, [target_width - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < target_height:
            image = pad(image, [0, target_height - height], self.fill, self.padding_mode)
        height, width = _planes("RandomCrop", image)[0].shape[-2:]
        if height < target_height or width < target_width:
            raise ValueError(f"RandomCrop: the crop size {self.size} is larger than the image "
                             f"({height}, {width}); pass padding= or pad_if_needed=True")
        rng = _random.generator()
        top = int(rng.integers(0, height - target_height + 1))
        left = int(rng.integers(0, width - target_width + 1))
        return crop(image, top, left, target_height, target_width)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class _RandomFlip:
    axis = -1

    def __init__(self, p=0.5):
        if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got "
                             f"{p!r}")
        self.p = float(p)

    def __call__(self, image):
        if _random.generator().random() >= self.p:
            return image
        array, restore = _planes(type(self).__name__, image)
        return restore(np.ascontiguousarray(np.flip(array, self.axis)))

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability ``p``."""
    axis = -1


class RandomVerticalFlip(_RandomFlip):
    """Mirror top-bottom with probability ``p``."""
    axis = -2


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` ((-d, d) for a number d),
    counter-clockwise for positive angles, about the centre; pixels from outside are
    ``fill``."""

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0):
        self.degrees = _range("RandomRotation", "degrees", degrees, centred=True)
        self.interpolation = _interpolation("RandomRotation", interpolation)
        if expand or center is not None:
            raise ValueError("RandomRotation: expand and center are not supported")
        self.fill = fill

    def __call__(self, image):
        return rotate(image, _uniform(*self.degrees), self.interpolation, self.fill)

    def __repr__(self):
        return (f"RandomRotation(degrees={list(self.degrees)}, "
                f"interpolation={self.interpolation}, fill={self.fill})")


class RandomAffine:
    """torchvision's RandomAffine: an angle from ``degrees``, a translation up to
    ``translate`` = (fraction of width, fraction of height) rounded to whole pixels, a scale
    from ``scale`` = (min, max) and a shear from ``shear`` (degrees: a number, (min, max)
    along x, or four numbers for x and y), about the centre."""

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation="nearest", fill=0, center=None):
        self.degrees = _range("RandomAffine", "degrees", degrees, centred=True)
        if translate is not None:
            if len(translate) != 2 or not all(0 <= value <= 1 for value in translate):
                raise ValueError(f"RandomAffine: translate must be two fractions in [0, 1], "
                                 f"got {translate!r}")
        if scale is not None:
            if len(scale) != 2 or not all(value > 0 for value in scale):
                raise ValueError(f"RandomAffine: scale must be two positive numbers, got "
                                 f"{scale!r}")
        if shear is not None:
            if isinstance(shear, numbers.Real):
                shear = _range("RandomAffine", "shear", shear, centred=True)
            elif len(shear) not in (2, 4):
                raise ValueError(f"RandomAffine: shear must be a number or 2 or 4 numbers, got "
                                 f"{shear!r}")
        if center is not None:
            raise ValueError("RandomAffine: center is not supported")
        self.translate, self.scale, self.shear = translate, scale, shear
        self.interpolation = _interpolation("RandomAffine", interpolation)
        self.fill = fill

    def get_params(self, height, width):
        """(angle, (tx, ty), scale, (shear_x, shear_y)) drawn from cunn's stream."""
        angle = _uniform(*self.degrees)
        translations = (0, 0)
        if self.translate is not None:
            limit_x, limit_y = self.translate[0] * width, self.translate[1] * height
            translations = (int(round(_uniform(-limit_x, limit_x))),
                            int(round(_uniform(-limit_y, limit_y))))
        scale = _uniform(*self.scale) if self.scale is not None else 1.0
        shear = [0.0, 0.0]
        if self.shear is not None:
            shear[0] = _uniform(self.shear[0], self.shear[1])
            if len(self.shear) == 4:
                shear[1] = _uniform(self.shear[2], self.shear[3])
        return angle, translations, scale, tuple(shear)

    def __call__(self, image):
        height, width = _planes("RandomAffine", image)[0].shape[-2:]
        angle, translations, scale, shear = self.get_params(height, width)
        return affine(image, angle, translations, scale, shear, self.interpolation, self.fill)

    def __repr__(self):
        return (f"RandomAffine(degrees={list(self.degrees)}, translate={self.translate}, "
                f"scale={self.scale}, shear={self.shear})")

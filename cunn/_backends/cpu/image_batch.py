"""image_batch kernel: the fused gather + ToTensor + Normalize of uint8 images, over cunn._C."""
import numpy as np

from cunn import _C

__all__ = ["normalize_images"]


def normalize_images(images, indices, mean, std):
    # images are passed as they are (never copied: it is the whole dataset); a list of
    # indices becomes an array (order="C" keeps a 0-d value 0-d, so the binding refuses it).
    if not isinstance(indices, np.ndarray):
        indices = np.asarray(indices)
    elif not indices.flags.c_contiguous:
        indices = np.asarray(indices, order="C")
    return _C.normalize_images(images, indices, mean, std)

"""normalize_images on the cuda backend: the data loader's images live on the host, so the
host backend computes the batch and one copy moves it to the device."""
from cunn._backends.cuda.array import DeviceArray, to_device

__all__ = ["normalize_images"]


def normalize_images(images, indices, mean, std):
    if isinstance(images, DeviceArray) or isinstance(indices, DeviceArray):
        raise TypeError("normalize_images: images and indices must be host arrays (the data "
                        "loader's dataset); the batch is copied to cuda afterwards")
    from cunn._backends.cuda.runtime import _host_backend
    return to_device(_host_backend().normalize_images(images, indices, mean, std))
